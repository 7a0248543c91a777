# Reference values for analyses/stats/proportions.py and analyses/stats/standardization.py.
#
# Run from the repository root:   Rscript tests/reference/r/rates.R
# Written with R 4.2.2 (2022-11-10 r83330) and epitools 0.5-10.1 (base stats for prop.test, poisson.test, qnorm).
# Reads  tests/reference/data/rates_dsr_input.csv (counts per age band and the normalised standard weights that
#        analyses.stats.standardization.band_weights gives for them; one case uses raw ESP 2013 counts instead).
# Writes tests/reference/expected/rates_wilson.csv, rates_poisson.csv, rates_dsr.csv, rates_dsr_ratio.csv,
#        every number with 17 significant digits. tests/reference/test_rates_vs_r.py compares against them
#        (CI has no R: the CSVs are committed; re-run this script only when the inputs change).

suppressPackageStartupMessages(library(epitools))

expected_versions <- c(R = "4.2.2", epitools = "0.5.10.1")
actual_versions <- c(R = paste(R.version$major, R.version$minor, sep = "."),
                     epitools = as.character(packageVersion("epitools")))
if (!identical(unname(expected_versions), unname(actual_versions))) {
  warning("versions differ from those the committed CSVs were written with: ",
          paste(names(actual_versions), actual_versions, collapse = ", "))
}

out_dir <- file.path("tests", "reference", "expected")
stopifnot(dir.exists(out_dir))

fmt <- function(df) {
  for (col in names(df)) {
    if (is.double(df[[col]])) df[[col]] <- ifelse(is.na(df[[col]]), "NA", sprintf("%.17g", df[[col]]))
  }
  df
}
write_out <- function(df, name) {
  write.csv(fmt(df), file.path(out_dir, name), row.names = FALSE, quote = FALSE)
}

# --- Wilson score interval: prop.test without continuity correction -------------------------------------------
wilson_in <- data.frame(
  x = c(0, 1, 5, 10, 0, 1, 3, 47, 112, 512, 999, 1600, 68, 36, 20, 2),
  n = c(10, 10, 10, 10, 1, 1, 250, 389, 1043, 5120, 1000, 20000, 1412, 1389, 200, 45),
  conf_level = c(rep(0.95, 12), 0.95, 0.95, 0.90, 0.99)
)
wilson <- do.call(rbind, lapply(seq_len(nrow(wilson_in)), function(i) {
  r <- wilson_in[i, ]
  ci <- suppressWarnings(prop.test(r$x, r$n, conf.level = r$conf_level, correct = FALSE))$conf.int
  data.frame(x = r$x, n = r$n, conf_level = r$conf_level, low = ci[1], high = ci[2])
}))
wilson$x <- as.integer(wilson$x)
wilson$n <- as.integer(wilson$n)
write_out(wilson, "rates_wilson.csv")

# --- Exact Poisson rate interval: poisson.test(x, T) ------------------------------------------------------------
poisson_in <- data.frame(
  x = c(0, 1, 2, 5, 12, 37, 100, 1000, 0, 4, 11, 9),
  person_time = c(100, 100, 1, 1234.5, 3456.7, 250.25, 10000, 52000, 0.5, 310.25, 702.5, 288.75),
  conf_level = c(rep(0.95, 9), 0.90, 0.99, 0.95)
)
poisson <- do.call(rbind, lapply(seq_len(nrow(poisson_in)), function(i) {
  r <- poisson_in[i, ]
  ci <- poisson.test(r$x, r$person_time, conf.level = r$conf_level)$conf.int
  data.frame(x = r$x, person_time = r$person_time, conf_level = r$conf_level, low = ci[1], high = ci[2])
}))
poisson$x <- as.integer(poisson$x)
write_out(poisson, "rates_poisson.csv")

# --- Direct standardisation: epitools::ageadjust.direct (Fay & Feuer 1997 gamma interval) ---------------------
dsr_in <- read.csv(file.path("tests", "reference", "data", "rates_dsr_input.csv"), stringsAsFactors = FALSE)
cases <- unique(dsr_in$case)
dsr <- do.call(rbind, lapply(cases, function(k) {
  d <- dsr_in[dsr_in$case == k, ]
  cl <- d$conf_level[1]
  a <- suppressWarnings(ageadjust.direct(count = d$events, pop = d$n, stdpop = d$weight, conf.level = cl))
  stdwt <- d$weight / sum(d$weight)
  variance <- sum(stdwt^2 * d$events / d$n^2)  # the dsr.var inside ageadjust.direct, not returned by it
  data.frame(case = k, conf_level = cl, crude_rate = unname(a["crude.rate"]), adj_rate = unname(a["adj.rate"]),
             lci = unname(a["lci"]), uci = unname(a["uci"]), variance = variance)
}))
write_out(dsr, "rates_dsr.csv")

# --- Ratio of two directly standardised rates: log-normal, var(log R) = v_a/r_a^2 + v_b/r_b^2 ------------------
pairs <- data.frame(
  case_a = c("women_esp2013", "women_who2000", "women_us2000", "women_esp2013_cl90", "women_small_esp2013"),
  case_b = c("men_esp2013", "men_who2000", "men_us2000", "men_esp2013_cl90", "men_zero_band_esp2013"),
  stringsAsFactors = FALSE
)
ratio <- do.call(rbind, lapply(seq_len(nrow(pairs)), function(i) {
  a <- dsr[dsr$case == pairs$case_a[i], ]
  b <- dsr[dsr$case == pairs$case_b[i], ]
  stopifnot(a$conf_level == b$conf_level)
  z <- qnorm(1 - (1 - a$conf_level) / 2)
  r <- a$adj_rate / b$adj_rate
  se <- sqrt(a$variance / a$adj_rate^2 + b$variance / b$adj_rate^2)
  data.frame(case_a = pairs$case_a[i], case_b = pairs$case_b[i], conf_level = a$conf_level,
             ratio = r, lci = r * exp(-z * se), uci = r * exp(z * se))
}))
write_out(ratio, "rates_dsr_ratio.csv")

cat("wrote rates_wilson.csv, rates_poisson.csv, rates_dsr.csv, rates_dsr_ratio.csv to", out_dir, "\n")
