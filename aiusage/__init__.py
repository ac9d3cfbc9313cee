"""aiusage: a hosted gateway for AI model APIs."""
