"""Running the warehouse unattended: the landing-zone sensor and run-failure alerts."""
