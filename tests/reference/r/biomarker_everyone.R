# Reference values for biomarker risk in everyone (no treatment role) on a public cohort with its own column names:
# R survival::flchain, serum free light chain kappa bands against death, adjusted for age and sex.
#
# Run from the repository root:  Rscript tests/reference/r/biomarker_everyone.R
# Written with R 4.2.2, survival 3.5-3. Reads tests/data/cohorts/flchain/flchain.csv (exported from R's survival
# package by tests/reference/r/export_cohorts.R; LGPL, see tests/data/cohorts/LICENSE.md) and writes
# tests/reference/expected/everyone_*.csv, compared at 1e-6 relative by tests/reference/test_biomarker_everyone_vs_r.py.
# The loader top-codes age at 90 (the 90+ category) and stores follow-up in years (days / 365.25); both are
# reproduced here.

suppressMessages(library(survival))
out <- function(df, name) write.csv(df, file.path("tests/reference/expected", name), row.names = FALSE)
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
cox_ctl <- coxph.control(eps = 1e-11, iter.max = 100)
z <- qnorm(0.975)
d <- read.csv("tests/data/cohorts/flchain/flchain.csv", stringsAsFactors = FALSE)
d$age <- pmin(d$age, 90)
d$time <- d$futime / 365.25
labels <- c("<1", "1-1.5", "1.5-1.94", ">=1.94")
d$band <- factor(labels[findInterval(d$kappa, c(1, 1.5, 1.94)) + 1], levels = labels)
d$band <- relevel(d$band, ref = ">=1.94")

bands <- do.call(rbind, lapply(labels, function(b) {
  s <- d[d$band == b, ]
  data.frame(band = b, n = nrow(s), events = sum(s$death), person_time = sum(s$time))
}))
out(bands, "everyone_bands.csv")

band_rows <- function(fit, measure) {
  s <- coef(summary(fit))
  do.call(rbind, lapply(labels[1:3], function(b) {
    term <- paste0("band", b); est <- s[term, 1]; se <- s[term, if (inherits(fit, "coxph")) 3 else 2]
    data.frame(measure = measure, band = b, estimate = exp(est), ci_low = exp(est - z * se),
               ci_high = exp(est + z * se), p_value = s[term, ncol(s)])
  }))
}
crude <- glm(death ~ band, family = binomial, data = d, control = ctl)
adjusted <- glm(death ~ band + age + factor(sex), family = binomial, data = d, control = ctl)
cox <- coxph(Surv(time, death) ~ band + age + factor(sex), data = d, ties = "breslow", control = cox_ctl)
out(rbind(band_rows(crude, "crude_or"), band_rows(adjusted, "adjusted_or"), band_rows(cox, "hr")),
    "everyone_estimates.csv")

lr <- survdiff(Surv(time, death) ~ band, data = d)
out(data.frame(test = "logrank", statistic = lr$chisq, df = length(lr$n) - 1,
               p_value = pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE)), "everyone_tests.csv")
