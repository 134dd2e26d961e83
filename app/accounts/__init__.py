"""Accounts: the password policy, user management from the command line, sign-in."""
