"""The attack ledger: every attempt with a true small count (1 … 10), judged against the truth, and the table the
session prints at its end (``conftest.pytest_terminal_summary``)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

SMALL = range(1, 11)


@dataclass(frozen=True)
class Attempt:
    """The attacker's result for one target: ``guess`` (None when the outputs it needs are not shown as numbers)
    and the interval ``[low, high]`` of true values the shown numbers allow under the published ptable (a single
    value means the attacker is certain)."""

    target: object
    guess: int | None
    low: int | None = None
    high: int | None = None

    @staticmethod
    def linear(target, terms, perturbed: bool, max_perturbation: int) -> "Attempt":
        """guess = sum(coef × shown) over ``terms`` [(coef, shown count or None, released cells behind it)]. In
        cell-key mode each released cell may be off by up to ``max_perturbation``, so the true value lies within
        sum(|coef| × cells) × D of the guess; cells = None: the attacker cannot bound the shown number (a sum of an
        unknown number of cells, or grouped follow-up times)."""
        if any(t[1] is None for t in terms):
            return Attempt(target, None)
        guess = int(round(sum(t[0] * t[1] for t in terms)))
        if not perturbed:
            return Attempt(target, guess, guess, guess)
        if any(t[2] is None for t in terms):
            return Attempt(target, guess, 0, None)
        width = int(round(sum(abs(t[0]) * t[2] for t in terms) * max_perturbation))
        return Attempt(target, guess, max(guess - width, 0), guess + width)

    @property
    def candidates(self) -> float:
        """How many true values the shown numbers allow (inf when unbounded)."""
        if self.guess is None:
            return 0
        return float("inf") if self.high is None else self.high - self.low + 1

    def allows(self, truth: int) -> bool:
        return self.guess is not None and self.low <= truth and (self.high is None or truth <= self.high)


@dataclass
class Row:
    attempts: int = 0  # attempts whose true count is 1 … 10
    guessed: int = 0  # … of which the attacker could form a guess
    correct: int = 0
    certain: int = 0  # … correct with one candidate left
    targets: int = 0  # distinct sets of participants among the guessed attempts
    targets_correct: int = 0  # … whose first guess was right

    @property
    def rate(self) -> float | None:
        return self.correct / self.guessed if self.guessed else None

    @property
    def target_rate(self) -> float | None:
        """The success rate over distinct targets: attempts on the same participants share one cell-key sum, so
        their successes are not independent (one lucky key makes all of them right)."""
        return self.targets_correct / self.targets if self.targets else None

    def plus(self, other: "Row") -> "Row":
        return Row(*(getattr(self, f) + getattr(other, f) for f in
                     ("attempts", "guessed", "correct", "certain", "targets", "targets_correct")))


class Ledger:
    def __init__(self):
        self.rows: dict[tuple[str, str, str], Row] = defaultdict(Row)
        self.skips: dict[tuple[str, str], str] = {}
        self.records: list[tuple[str, str, str, int, Attempt]] = []
        self._seen: dict[tuple[str, str, str], set] = defaultdict(set)

    def add(self, attack: str, cohort: str, mode: str, truth: int, attempt: Attempt, members=None) -> None:
        """Judge one attempt; ``members`` fingerprints the participants its target counts (None: a target of its
        own)."""
        if truth not in SMALL:
            return
        row = self.rows[(attack, cohort, mode)]
        row.attempts += 1
        self.records.append((attack, cohort, mode, truth, attempt))
        if attempt.guess is None:
            return
        row.guessed += 1
        right = attempt.guess == truth
        row.correct += right
        row.certain += right and attempt.candidates == 1
        seen = self._seen[(attack, cohort, mode)]
        key = members if members is not None else ("own", len(self.records))
        if key not in seen:
            seen.add(key)
            row.targets += 1
            row.targets_correct += right

    def skip(self, attack: str, cohort: str, reason: str) -> None:
        self.skips[(attack, cohort)] = reason

    def total(self, attack: str, mode: str) -> Row:
        out = Row()
        for (a, _c, m), row in self.rows.items():
            if a == attack and m == mode:
                out = out.plus(row)
        return out

    def lines(self) -> list[str]:
        if not self.rows and not self.skips:
            return []
        attacks = sorted({a for a, _, _ in self.rows} | {a for a, _ in self.skips}, key=_attack_order)
        cohorts = sorted({c for _, c, _ in self.rows} | {c for _, c in self.skips}, key=_cohort_order)
        out = ["", "Disclosure attacks. attempts: true count 1-10; guessed: the shown outputs gave a number; rate = "
               "correct / guessed; targets: distinct sets of participants guessed (rate over their first guesses); "
               "certain: correct with a single candidate left."]
        header = (f"{'attack':<28} {'cohort':<8} {'attempts':>8} {'guessed':>7} {'correct':>7} {'rate':>5} "
                  f"{'targets':>7} {'t.rate':>6} {'certain':>7}")
        for mode in ("cell_key", "exact"):
            out += ["", f"== {mode} ==", header, "-" * len(header)]
            for attack in attacks:
                for cohort in cohorts + ["ALL"]:
                    if cohort == "ALL":
                        row = self.total(attack, mode)
                        if not row.attempts:
                            continue
                    elif (attack, cohort, mode) in self.rows:
                        row = self.rows[(attack, cohort, mode)]
                    elif (attack, cohort) in self.skips and mode == "cell_key":
                        out.append(f"{attack:<28} {cohort:<8} skipped: {self.skips[(attack, cohort)]}")
                        continue
                    else:
                        continue
                    rate = "-" if row.rate is None else f"{row.rate:.2f}"
                    t_rate = "-" if row.target_rate is None else f"{row.target_rate:.2f}"
                    out.append(f"{attack:<28} {cohort:<8} {row.attempts:>8} {row.guessed:>7} {row.correct:>7} "
                               f"{rate:>5} {row.targets:>7} {t_rate:>6} {row.certain:>7}")
        return out


def _attack_order(name: str):
    head = name.split(" ")[0]
    number = "".join(ch for ch in head if ch.isdigit())
    return (int(number) if number else 99, name)


def _cohort_order(name: str):
    order = ["demo", "flchain", "colon", "nafld1", "tmp-csv", "reports"]
    return (order.index(name) if name in order else len(order), name)


LEDGER = Ledger()
