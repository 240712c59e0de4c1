"""Separation jobs and their stems: services, the worker task, file views (Range), zip, mix."""
