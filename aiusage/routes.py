"""Every page's address, in one place: pages register at them, the navigation links to
them, states re-localise them and the guards match them."""

LANDING = "/"
PRICING = "/pricing"
LOGIN = "/login"
SIGNUP = "/signup"
FORGOT_PASSWORD = "/forgot-password"  # noqa: S105 (an address, not a password)
RESET_PASSWORD = "/reset-password"  # noqa: S105

OVERVIEW = "/dashboard"
USAGE = "/dashboard/usage"
KEYS = "/dashboard/keys"
CONNECT = "/dashboard/connect"
BILLING = "/dashboard/billing"
BILLING_SUCCESS = "/dashboard/billing/success"
BILLING_CANCEL = "/dashboard/billing/cancel"
SIGN_IN_METHODS = "/dashboard/sign-in"
SETTINGS = "/dashboard/settings"
SUPPORT = "/dashboard/support"
DASHBOARD_PAGES = OVERVIEW + "*"  # every dashboard page (relocalize_on's wildcard)

CONSOLE = "/admin"
CONSOLE_USERS = "/admin/users"
CONSOLE_USER = "/admin/users/[user_id]"
CONSOLE_PRICES = "/admin/prices"
CONSOLE_SUPPORT = "/admin/support"
CONSOLE_AUDIT = "/admin/audit"
