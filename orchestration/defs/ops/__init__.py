"""Running the warehouse: the landing-zone sensor, run-failure alerts, dead-run clean-up and the CLI build's plan."""
