"""Alert content and rules: what to say, when; sending is the Airflow layer's notifiers' job."""
