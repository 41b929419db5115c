"""The service API: the loan desk's webhooks, loan status, health and metrics."""
