"""Offline review of Pulumi Python programs: capture the graph under mocks, judge it, price it, render it."""
