"""The server-rendered web UI: one blueprint module per area (sign-in, desk, tracking, search,
dashboard, designer).
"""
