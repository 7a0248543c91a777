"""Derive the one-row-per-participant table from the multi-table extract (engine-agnostic Ibis).

Added columns (documented in the README and the data dictionary):

- ``ferritin_at_baseline``: most recent ferritin with ``-window <= lab_day <= 0`` (mean if several that day);
- ``ferritin_at_treatment_start``: most recent ferritin with ``start - window <= lab_day <= start`` of the
  first treatment episode;
- ``first_drug`` (``"none"`` when untreated), ``treatment_start_day``;
- ``augmented`` (0/1) and ``days_to_augmentation_or_censor`` for the first episode: time to augmentation, else
  to the drug's stop day or the end of follow-up, whichever comes first.

and the columns of the guideline-concordance measures (IRLSSG 2018, AASM 2024), all about the first episode
(the first start); "dopaminergic" is a dopamine agonist or levodopa:

- ``first_start_year`` / ``first_start_month``: calendar year (month) of the first start, from the treatments'
  ``start_year`` / ``start_month`` (empty when the extract lacks them);
- ``treatment_started`` (0/1): any first start; ``first_start_dopaminergic`` (0/1): a dopaminergic first start;
- ``first_line_alpha2delta_or_iron`` (0/1, empty when untreated): the first start is an alpha-2-delta ligand or iron;
- ``ferritin_checked_before_dopaminergic_start`` (0/1, dopaminergic first starts only): a ferritin measurement
  in the 365 days up to and including the start day;
- ``augmented_within_2y_of_dopaminergic_start`` (0/1, dopaminergic first starts only): augmentation within 730 days
  of the start, among starts with at least 730 days to the end of follow-up; empty for later starts, augmented or
  not (counting their early augmentations without their non-augmenters would inflate recent years);
- ``dopaminergic_treatment_days``: days on the first dopaminergic episode, to augmentation, stop or end of
  follow-up (= ``days_to_augmentation_or_censor``), the person-time of the augmentation rate.
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
    "first_start_year": ("integer", "calendar year", "Calendar year of the first treatment start."),
    "first_start_month": ("integer", "month 1-12", "Calendar month of the first treatment start (a limited data "
                          "set only; empty otherwise)."),
    "treatment_started": ("flag", None, "Any treatment episode (1), or never treated (0)."),
    "first_start_dopaminergic": ("flag", None, "The first treatment is dopaminergic (a dopamine agonist or "
                                 "levodopa)."),
    "first_line_alpha2delta_or_iron": ("flag", None, "The first treatment is an alpha-2-delta ligand or iron rather "
                                       "than a dopaminergic drug (AASM 2024); empty when never treated."),
    "ferritin_checked_before_dopaminergic_start": ("flag", None, "Serum ferritin measured in the 365 days up to a "
                                                   "dopaminergic first start (IRLSSG 2018, AASM 2024); empty "
                                                   "for other participants."),
    "augmented_within_2y_of_dopaminergic_start": ("flag", None, "Augmentation within 730 days of a dopaminergic "
                                                  "first start with at least 730 days to the end of follow-up; "
                                                  "empty for other participants and for later starts."),
    "dopaminergic_treatment_days": ("integer", "days", "Days on a dopaminergic first treatment, to augmentation, "
                                    "stop or end of follow-up; empty for other participants."),
}
DOPAMINERGIC = ("pramipexole", "ropinirole", "rotigotine", "levodopa")  # dopamine agonists and levodopa
ALPHA2DELTA_OR_IRON = ("gabapentin", "pregabalin", "iron")  # first-line choices of AASM 2024 (no iron code yet)
FERRITIN_CHECK_DAYS = 365  # "in the 12 months before" a start
AUGMENTATION_WINDOW_DAYS = 730  # "within 2 years of" a start
FOLLOWUP, CHECKED = "followup_days__", "ferritin_checked__"  # working columns, dropped


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
        first_start_year=first.start_year,
        first_start_month=first.start_month,
        **{FOLLOWUP: first.end_of_followup_day - first.start_day},
    )


def _flag(condition: ir.BooleanValue) -> ir.IntegerValue:
    return condition.cast("int64")


def measure_columns(wide: ir.Table, checked: ir.Table) -> ir.Table:
    """The guideline-concordance columns (module docstring) from the first episodes and the ferritin checks."""
    t = wide.left_join(checked, "participant_id").drop("participant_id_right")
    treated = t.first_drug.notnull()
    dopaminergic = t.first_drug.isin(DOPAMINERGIC).fill_null(False)
    days = t.days_to_augmentation_or_censor
    within = (t.augmented == 1) & (days <= AUGMENTATION_WINDOW_DAYS)
    known = t[FOLLOWUP] >= AUGMENTATION_WINDOW_DAYS  # 2 years could be observed (augmented or not)

    def only_dopaminergic(value: ir.Value) -> ir.Value:
        return ibis.ifelse(dopaminergic, value, ibis.null(value.type()))

    return t.mutate(
        treatment_started=_flag(treated),
        first_start_dopaminergic=_flag(dopaminergic),
        first_line_alpha2delta_or_iron=ibis.ifelse(treated, _flag(t.first_drug.isin(ALPHA2DELTA_OR_IRON)),
                                                   ibis.null("int64")),
        ferritin_checked_before_dopaminergic_start=only_dopaminergic(_flag(t[CHECKED].fill_null(False))),
        augmented_within_2y_of_dopaminergic_start=only_dopaminergic(
            ibis.ifelse(known, _flag(within), ibis.null("int64"))),
        dopaminergic_treatment_days=only_dopaminergic(days),
    ).drop(FOLLOWUP, CHECKED)


def ferritin_checked(labs: ir.Table, first: ir.Table, days: int = FERRITIN_CHECK_DAYS) -> ir.Table:
    """Participants with a ferritin measurement in ``[start - days, start]`` of the first episode."""
    joined = labs.join(first.select("participant_id", "treatment_start_day"), "participant_id").filter(
        (_.lab_day <= _.treatment_start_day) & (_.lab_day >= _.treatment_start_day - days))
    return joined.select("participant_id").distinct().mutate(**{CHECKED: ibis.literal(True)})


def latest_measurement(labs: ir.Table, anchors: ir.Table | None, window_days: int, name: str) -> ir.Table:
    """Most recent ferritin in ``[anchor - window, anchor]`` per participant (mean of ties on that day).

    ``anchors`` gives each participant's anchor day; None anchors every participant at day 0 (baseline), which
    needs no join (labs of unknown participants were refused or left out before derivation)."""
    if anchors is None:
        joined = labs.mutate(anchor_day=ibis.literal(0)).filter((_.lab_day <= 0) & (_.lab_day >= -window_days))
    else:
        joined = labs.join(anchors, "participant_id").filter(
            (_.lab_day <= _.anchor_day) & (_.lab_day >= _.anchor_day - window_days))
    ranked = joined.mutate(latest=_.lab_day.max().over(group_by=_.participant_id))
    return ranked.filter(_.lab_day == _.latest).group_by("participant_id").aggregate(**{name: _.ferritin.mean()})


def derive_wide(participants: ir.Table, labs: ir.Table, treatments: ir.Table, window_days: int) -> ir.Table:
    """One row per participant: the participants' columns plus the derived columns above."""
    first = first_episodes(treatments)
    start_anchor = first.select("participant_id", anchor_day=_.treatment_start_day)
    at_baseline = latest_measurement(labs, None, window_days, "ferritin_at_baseline")
    at_start = latest_measurement(labs, start_anchor, window_days, "ferritin_at_treatment_start")
    wide = participants
    for extra in (at_baseline, at_start, first):
        wide = wide.left_join(extra, "participant_id").drop("participant_id_right")
    wide = measure_columns(wide, ferritin_checked(labs, first))
    return wide.mutate(first_drug=_.first_drug.fill_null("none"))
