# Reference values for diagnostic accuracy: epiR::epi.tests (2x2 measures, default CIs) and pROC (empirical ROC,
# AUC with the DeLong CI, Youden-optimal threshold).
#
# Run from the repository root:  Rscript tests/reference/r/diagnostic.R
# Written with R 4.2.2, epiR 2.0.57, pROC (Debian r-cran-epir, r-cran-proc). Writes
# tests/reference/data/diagnostic_asah.csv (pROC's aSAH data as counts per distinct s100b value; pROC is GPL-3,
# the data from Turck et al. 2010) and tests/reference/expected/diagnostic_*.csv, compared at 1e-9 relative by
# tests/reference/test_diagnostic_vs_r.py.

suppressMessages({library(epiR); library(pROC)})
out <- function(df, name) write.csv(df, file.path("tests/reference/expected", name), row.names = FALSE)

# 2x2 tables as (tp, fp, fn, tn): epiR's own example (Scott et al. 2008), a sparse table and one with a zero cell.
tables <- data.frame(name = c("epir_example", "sparse", "zero_fn"), tp = c(670, 9, 25), fp = c(202, 3, 7),
                     fn = c(74, 4, 0), tn = c(640, 31, 40))
measures <- c(sensitivity = "se", specificity = "sp", ppv = "pv.pos", npv = "pv.neg", accuracy = "diag.ac",
              prevalence = "tp", apparent_prevalence = "ap", lr_positive = "lr.pos", lr_negative = "lr.neg",
              dor = "diag.or", youden = "youden")
rows <- do.call(rbind, lapply(seq_len(nrow(tables)), function(i) {
  t <- tables[i, ]
  dat <- as.table(matrix(c(t$tp, t$fp, t$fn, t$tn), nrow = 2, byrow = TRUE))
  d <- epi.tests(dat, conf.level = 0.95)$detail
  do.call(rbind, lapply(names(measures), function(m) {
    r <- d[d$statistic == measures[[m]], ]
    data.frame(table = t$name, measure = m, estimate = r$est, low = r$lower, high = r$upper)
  }))
}))
out(tables, "diagnostic_tables.csv")
out(rows, "diagnostic_accuracy.csv")

# ROC of s100b for a poor outcome (aSAH), from the rows; the counts per value are what the Python side reads.
data(aSAH)
counts <- aggregate(cbind(cases = aSAH$outcome == "Poor", controls = aSAH$outcome == "Good") ~ s100b,
                    data = aSAH, FUN = sum)
write.csv(counts, "tests/reference/data/diagnostic_asah.csv", row.names = FALSE)
r <- roc(aSAH$outcome, aSAH$s100b, levels = c("Good", "Poor"), direction = "<", quiet = TRUE)
ci <- ci.auc(r, method = "delong")
best <- coords(r, "best", best.method = "youden", ret = c("threshold", "sensitivity", "specificity"))
out(data.frame(auc = as.numeric(ci[2]), low = ci[1], high = ci[3], se = sqrt(var(r, method = "delong")),
               youden_sensitivity = best$sensitivity, youden_specificity = best$specificity,
               youden_midpoint = best$threshold), "diagnostic_roc.csv")
curve <- data.frame(threshold = r$thresholds, sensitivity = r$sensitivities, specificity = r$specificities)
out(curve, "diagnostic_roc_curve.csv")
