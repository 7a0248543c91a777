"""Derive the one-row-per-participant table from the multi-table extract (engine-agnostic Ibis).

Added columns (documented in the README and the data dictionary):

- ``ferritin_at_baseline``: most recent ferritin with ``-window <= lab_day <= 0`` (mean if several that day);
- ``ferritin_at_treatment_start``: most recent ferritin with ``start - window <= lab_day <= start`` of the
  first treatment episode;
- ``first_drug`` (``"none"`` when untreated), ``treatment_start_day``;
- ``augmented`` (0/1) and ``days_to_augmentation_or_censor`` for the first episode: time to augmentation, else
  to the drug's stop day or the end of follow-up, whichever comes first.
"""

from __future__ import annotations

import ibis
import ibis.expr.types as ir
from ibis import _

DERIVED_COLUMNS = {
    "ferritin_at_baseline": ("float", "µg/L", "Most recent serum ferritin within the baseline window up to day 0."),
    "ferritin_at_treatment_start": ("float", "µg/L", "Most recent serum ferritin within the baseline window up to "
                                    "the start of the first treatment episode."),
    "first_drug": ("string", None, "Drug of the first treatment episode; 'none' when never treated."),
    "treatment_start_day": ("integer", "days from baseline", "Start day of the first treatment episode."),
    "augmented": ("flag", None, "Augmentation during the first treatment episode."),
    "days_to_augmentation_or_censor": ("integer", "days", "Days from the first episode's start to augmentation, "
                                       "or to the stop day or end of follow-up if earlier (censoring)."),
}


def first_episodes(treatments: ir.Table) -> ir.Table:
    """Each participant's first treatment episode with event and follow-up time."""
    order = ibis.row_number().over(group_by=_.participant_id, order_by=[_.start_day, _.episode])
    first = treatments.mutate(rank=order).filter(_.rank == 0)
    censor_day = ibis.least(first.stop_day.fill_null(first.end_of_followup_day), first.end_of_followup_day)
    event_day = ibis.ifelse(first.augmented == 1, first.augmentation_day, censor_day)
    return first.select(
        "participant_id",
        first_drug=first.drug,
        treatment_start_day=first.start_day,
        augmented=first.augmented,
        days_to_augmentation_or_censor=event_day - first.start_day,
    )


def latest_measurement(labs: ir.Table, anchors: ir.Table, window_days: int, name: str) -> ir.Table:
    """Most recent ferritin in ``[anchor - window, anchor]`` per participant (mean of ties on that day)."""
    joined = labs.join(anchors, "participant_id").filter(
        (_.lab_day <= _.anchor_day) & (_.lab_day >= _.anchor_day - window_days))
    ranked = joined.mutate(latest=_.lab_day.max().over(group_by=_.participant_id))
    return ranked.filter(_.lab_day == _.latest).group_by("participant_id").aggregate(**{name: _.ferritin.mean()})


def derive_wide(participants: ir.Table, labs: ir.Table, treatments: ir.Table, window_days: int) -> ir.Table:
    """One row per participant: the participants' columns plus the derived columns above."""
    first = first_episodes(treatments)
    baseline_anchor = participants.select("participant_id", anchor_day=ibis.literal(0))
    start_anchor = first.select("participant_id", anchor_day=_.treatment_start_day)
    at_baseline = latest_measurement(labs, baseline_anchor, window_days, "ferritin_at_baseline")
    at_start = latest_measurement(labs, start_anchor, window_days, "ferritin_at_treatment_start")
    wide = participants
    for extra in (at_baseline, at_start, first):
        wide = wide.left_join(extra, "participant_id").drop("participant_id_right")
    return wide.mutate(first_drug=_.first_drug.fill_null("none"))
