"""What runs in the guest: the base provisioning, the reference solutions, their
templates, and the deployment's facts (facts.py), which the checker imports too
as provision.facts."""
