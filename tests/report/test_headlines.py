"""Slide titles state the finding from the result's estimates, and fall back to the figure's title when the estimate
is withheld (results with estimates removed, as the disclosure gate leaves them)."""

from __future__ import annotations

from dataclasses import replace

from analyses.registry import figures_for
from analyses.report.headlines import headline


def _figure(result, key: str):
    return next(f for f in figures_for(result) if f.key == key)


def _without(result, *measures: str):
    return replace(result, estimates=tuple(e for e in result.estimates if e.measure not in measures))


def test_odds_ratio_title_prefers_the_adjusted_then_the_mantel_haenszel_then_the_crude_or(demo_build):
    result = demo_build.result("odds-ratio")
    forest = _figure(result, "forest")
    mh, crude = result.estimate("mh_or"), result.estimate("crude_or")
    assert headline(result, forest).endswith(")") and "(adjusted OR; 95% CI " in headline(result, forest)
    no_adjusted = _without(result, "adjusted_or")
    assert headline(no_adjusted, forest) == (f"Women had {mh.estimate:.2f} times the odds of RLS (four IRLSSG "
                                             f"criteria) as men (Mantel–Haenszel OR; 95% CI {mh.ci_low:.2f}–"
                                             f"{mh.ci_high:.2f})")
    assert f"{crude.estimate:.2f} times" in headline(_without(result, "adjusted_or", "mh_or"), forest)
    withheld = replace(result, estimates=tuple(replace(e, estimate=None) for e in result.estimates))
    assert headline(withheld, forest) == forest.title


def test_prevalence_titles_name_interior_peaks_and_standardized_levels(demo_build):
    result = demo_build.result("prevalence")
    curve, standardized = _figure(result, "curve"), _figure(result, "standardized")
    peaks = result.details.peak
    edge = replace(result, details=replace(result.details, peak={**peaks, "men": {**peaks["men"], "at_edge": True}}))
    assert headline(edge, curve) == (f"Prevalence of RLS (four IRLSSG criteria) peaked at {peaks['women']['age']:g} "
                                     "years in women")
    no_peaks = replace(result, details=replace(result.details, peak={}))
    assert headline(no_peaks, curve) == curve.title
    women, men = (next(e for e in result.estimates if e.group == g) for g in ("women", "men"))
    ratio = result.estimate("standardized_ratio")
    assert headline(result, standardized) == (
        f"Age-standardized prevalence {100 * women.estimate:.1f}% in women vs {100 * men.estimate:.1f}% in men; "
        f"women/men {ratio.estimate:.2f} (95% CI {ratio.ci_low:.2f}–{ratio.ci_high:.2f})")
    assert "women/men" not in headline(_without(result, "standardized_ratio"), standardized)


def test_biomarker_titles_take_the_lowest_band_with_a_shown_hazard_ratio(demo_build):
    result = demo_build.result("biomarker-risk")
    effects, km = _figure(result, "effects"), _figure(result, "km")
    # the bands with a hazard ratio, lowest first: in cell-key mode a band whose event cells (of about one participant
    # each) are all released as 0 has none (about 1 secret in 600,000 for 50-75, e.g.
    #   RLS_TEST_CELL_KEY_SECRET=045c87b10f28e491f7c979b96cf33eb131ca4c67bf75fa310a35d9db20d2b001)
    with_hr = [b for b in result.details.band_labels if result.estimate("hr", b) is not None]
    first_band_hidden = replace(result, estimates=tuple(e for e in result.estimates
                                                        if not (e.measure == "hr" and e.band == with_hr[0])))
    second = first_band_hidden.estimate("hr", with_hr[1])
    assert headline(first_band_hidden, effects) == (
        f"Hazard of augmentation in band {with_hr[1]} was {second.estimate:.2f} times that in band >=100 (Cox HR; "
        f"95% CI {second.ci_low:.2f}–{second.ci_high:.2f})")
    assert headline(_without(result, "hr"), effects) == effects.title
    one_band = replace(result, tables=tuple((n, t.assign(suppressed=t.index > 0) if n == "bands" else t)
                                            for n, t in result.tables))
    assert headline(one_band, km) == km.title  # a test across one shown band would speak for the withheld ones
