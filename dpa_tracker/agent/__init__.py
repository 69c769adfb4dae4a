"""Agents (clause 5): who processes personal data, where, and what authorises them."""
