-- A split that does not add up to 1 makes every SRM test fail or pass wrongly.
select campaign_id, sum(designed_share) as total_share
from {{ ref('experiment_design') }}
group by campaign_id
having abs(sum(designed_share) - 1) > 1e-9
