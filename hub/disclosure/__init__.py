"""The one door: policy decision, then decrypt only what is released, then the log entry."""
