-- Sessionisation must neither drop nor double events.
select 1 as failure
from (select sum(event_count) as n from {{ ref('fct_sessions') }}) as sessions
cross join (select count(*) as n from {{ ref('stg_web__events') }}) as events
where coalesce(sessions.n, 0) <> events.n
