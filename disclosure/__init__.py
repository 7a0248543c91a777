"""Disclosure control: the policy (threshold, method), the cell key perturbation table and the record keys."""
