# Reference values for analyses/stats/spc.py (SPC charts) and analyses/stats/funnel.py (funnel plots).
#
# Run from the repository root:   Rscript tests/reference/r/spc_funnel.R
# Written with R 4.2.2 (2022-11-10 r83330); base R only (stats: median, qbinom, pbinom, qchisq, qnorm, quantile).
# qicharts2 and FunnelPlotR are not on Debian, so their formulas are written out here, directly from their sources
# (qicharts2 R/helper.functions.R: runs.analysis, qic.run, qic.p, qic.pp, qic.u, makeparts; FunnelPlotR
# R/calculate_limits.R and R/od_adjustment.R) and from Spiegelhalter (2005), "Funnel plots for comparing
# institutional performance" (exact binomial limits with interpolation) and "Handling over-dispersion of
# performance indicators" (winsorised phi, DerSimonian-Laird tau^2).
#
# Reads  tests/reference/data/spc_series.csv   (case, period, numerator, denominator: one row per period)
#        tests/reference/data/spc_cases.csv    (case, chart run|p|laney_p|u, freeze, parts "a;b", centre, screen)
#        tests/reference/data/funnel_units.csv (case, unit, numerator, denominator: one row per unit)
#        tests/reference/data/funnel_cases.csv (case, data, kind, target, method, adjustment, scale)
#        tests/reference/data/funnel_strata.csv (data, unit, stratum, events, exposure, shown: indirect
#                                               standardisation, observed / expected per unit)
# The same files prefixed qi_ (qi_spc_series.csv, ..., qi_funnel_strata.csv) hold the released counts of the spc
# and funnel analyses on the demo, flchain and lung (tests/reference/make_qi_counts.py writes them); their results
# go to expected/qi_*.csv, which tests/reference/test_qi_analyses_vs_r.py compares with the analyses.
# Writes tests/reference/expected/spc_rule_limits.csv (Anhoej limits for n = 1..300),
#        spc_points.csv (per period), spc_phases.csv (per phase), funnel_units.csv (per unit),
#        funnel_dispersion.csv (per case), every number with 17 significant digits.
# tests/reference/test_spc_funnel_vs_r.py compares against them (CI has no R: the CSVs are committed).
#
# Conventions shared with the Python code (see its docstrings): a period whose numerator is missing or whose
# denominator is missing or 0 is missing (numerator and denominator both NA, as qicharts2 does for incomplete
# cases); Laney's moving-range screen is qicharts2's (options(qic.screenedmr = TRUE), set when it is attached).

if (R.version$major != "4" || R.version$minor != "2.2") {
  warning("R ", R.version$major, ".", R.version$minor, " differs from 4.2.2, which wrote the committed CSVs")
}

data_dir <- file.path("tests", "reference", "data")
out_dir <- file.path("tests", "reference", "expected")
stopifnot(dir.exists(data_dir), dir.exists(out_dir))

fmt <- function(df) {
  for (col in names(df)) {
    if (is.double(df[[col]])) df[[col]] <- ifelse(is.na(df[[col]]), "NA", sprintf("%.17g", df[[col]]))
    if (is.logical(df[[col]])) df[[col]] <- ifelse(df[[col]], "TRUE", "FALSE")
  }
  df
}
write_out <- function(df, name) {
  write.csv(fmt(df), file.path(out_dir, name), row.names = FALSE, quote = FALSE, na = "NA")
}

# --- Anhoej rules (qicharts2 runs.analysis) ----------------------------------------------------------------------
longest_run_max <- function(n) round(log2(n)) + 3            # Schilling 2012
crossings_min <- function(n) qbinom(0.05, max(n - 1, 0), 0.5) # Chen 2010

write_out(data.frame(n = 1:300,
                     longest_run_limit = as.integer(sapply(1:300, longest_run_max)),
                     crossings_limit = as.integer(sapply(1:300, crossings_min))),
          "spc_rule_limits.csv")

runs_analysis <- function(y, cl) {
  runs <- sign(y - cl)
  useful <- which(runs != 0 & !is.na(runs))
  in_run <- rep(FALSE, length(y))
  n <- length(useful)
  if (n == 0) {
    return(list(n_useful = 0L, longest = NA, longest_max = NA, crossings = NA, crossings_min = NA,
                signal = FALSE, in_run = in_run))
  }
  r <- rle(runs[useful])
  longest <- max(r$lengths)
  lmax <- longest_run_max(n)
  crossings <- max(length(r$lengths) - 1, 0)
  cmin <- crossings_min(n)
  ends <- cumsum(r$lengths)
  starts <- ends - r$lengths + 1
  for (j in which(r$lengths > lmax)) in_run[useful[starts[j]:ends[j]]] <- TRUE
  list(n_useful = n, longest = longest, longest_max = lmax, crossings = crossings, crossings_min = cmin,
       signal = longest > lmax || crossings < cmin, in_run = in_run)
}

# --- chart limits for one phase (qicharts2 qic.run, qic.p, qic.pp, qic.u) ----------------------------------------
clip_limits <- function(cl, stdev, upper_one) {
  ucl <- cl + 3 * stdev
  lcl <- cl - 3 * stdev
  if (upper_one) ucl[ucl > 1 & is.finite(ucl)] <- 1
  lcl[lcl < 0 & is.finite(lcl)] <- 0
  list(lcl = lcl, ucl = ucl)
}

phase_limits <- function(chart, y, num, den, base, cl_given, screen) {
  b <- base & !is.na(y)
  sigma_z <- NA
  if (chart == "run") {
    cl <- if (is.na(cl_given)) median(y[b]) else cl_given
    return(list(cl = cl, lcl = rep(NA_real_, length(y)), ucl = rep(NA_real_, length(y)), sigma_z = NA))
  }
  cl <- if (is.na(cl_given)) sum(num[b]) / sum(den[b]) else cl_given
  if (chart == "u") {
    lim <- clip_limits(cl, sqrt(cl / den), upper_one = FALSE)
  } else {
    stdev <- sqrt(cl * (1 - cl) / den)
    if (chart == "laney_p") {
      z <- (y[base] - cl) / stdev[base]          # baseline rows, missing ones included (they break the ranges)
      mr <- abs(diff(z))
      amr <- mean(mr, na.rm = TRUE)
      if (screen) {                               # Nelson 1982, as qicharts2 with qic.screenedmr = TRUE
        ulmr <- 3.267 * amr
        mr <- mr[mr < ulmr]
        amr <- mean(mr, na.rm = TRUE)
      }
      sigma_z <- amr / 1.128
      stdev <- stdev * sigma_z
    }
    lim <- clip_limits(cl, stdev, upper_one = TRUE)
  }
  list(cl = cl, lcl = lim$lcl, ucl = lim$ucl, sigma_z = sigma_z)
}

makeparts <- function(x, n) {                     # qicharts2
  x <- unique(c(0, x))
  x <- x[x >= 0 & x < n]
  x <- x[order(x)]
  rep(c(seq_along(x)), diff(c(x, n)))
}

# Two sets of cases: the formula cases (spc_*.csv, funnel_*.csv) and the released counts of the spc and funnel
# analyses (qi_*.csv, written by tests/reference/make_qi_counts.py), each into its own expected files.
for (prefix in c("", "qi_")) {
  series <- read.csv(file.path(data_dir, paste0(prefix, "spc_series.csv")), stringsAsFactors = FALSE)
  cases <- read.csv(file.path(data_dir, paste0(prefix, "spc_cases.csv")), stringsAsFactors = FALSE,
                    na.strings = c("", "NA"))

  points_out <- list()
  phases_out <- list()
  for (i in seq_len(nrow(cases))) {
    cs <- cases[i, ]
    d <- series[series$case == cs$case, ]
    n <- nrow(d)
    num <- d$numerator
    den <- d$denominator
    if (cs$chart == "run" && all(is.na(den))) {
      y <- num
    } else {
      missing <- is.na(num) | is.na(den) | den == 0
      num[missing] <- NA
      den[missing] <- NA
      y <- num / den
    }
    parts <- if (is.na(cs$parts)) integer(0) else as.integer(strsplit(as.character(cs$parts), ";")[[1]])
    part <- makeparts(parts, n)
    freeze <- if (is.na(cs$freeze)) Inf else cs$freeze
    baseline <- seq_len(n) <= freeze
    cl <- lcl <- ucl <- rep(NA_real_, n)
    in_run <- rep(FALSE, n)
    for (ph in unique(part)) {
      rows <- which(part == ph)
      lim <- phase_limits(cs$chart, y[rows], num[rows], den[rows], baseline[rows], cs$centre, cs$screen == 1)
      cl[rows] <- lim$cl
      lcl[rows] <- lim$lcl
      ucl[rows] <- lim$ucl
      ra <- runs_analysis(y[rows], lim$cl)
      in_run[rows] <- ra$in_run
      outside <- (y[rows] > ucl[rows] | y[rows] < lcl[rows])
      phases_out[[length(phases_out) + 1]] <- data.frame(
        case = cs$case, phase = ph, first = rows[1] - 1L, last = rows[length(rows)] - 1L,
        baseline_periods = sum(baseline[rows]), centre = as.double(lim$cl), sigma_z = as.double(lim$sigma_z),
        n_useful = ra$n_useful, longest_run = ra$longest, longest_run_limit = ra$longest_max,
        crossings = ra$crossings, crossings_limit = ra$crossings_min, runs_signal = ra$signal,
        points_outside = sum(outside, na.rm = TRUE))
    }
    above <- !is.na(y) & !is.na(ucl) & y > ucl
    below <- !is.na(y) & !is.na(lcl) & y < lcl
    points_out[[i]] <- data.frame(case = cs$case, position = seq_len(n) - 1L, period = d$period, phase = part,
                                  baseline = baseline, value = as.double(y), centre = as.double(cl),
                                  lower = as.double(lcl), upper = as.double(ucl),
                                  above_upper = above, below_lower = below, in_long_run = in_run)
  }
  write_out(do.call(rbind, points_out), paste0(prefix, "spc_points.csv"))
  write_out(do.call(rbind, phases_out), paste0(prefix, "spc_phases.csv"))
}

# --- funnel plots ------------------------------------------------------------------------------------------------
levels <- list(c("95", 0.025, 0.975), c("998", 0.001, 0.999))

# Spiegelhalter (2005): r_p = qbinom(p, n, theta); alpha interpolates between the discrete steps.
spiegelhalter_limit <- function(p, n, theta) {
  if (theta %in% c(0, 1)) return(rep(theta, length(n)))
  r <- qbinom(p, n, theta)
  alpha <- (pbinom(r, n, theta) - p) / (pbinom(r, n, theta) - pbinom(r - 1, n, theta))
  pmin(pmax((r - alpha) / n, 0), 1)
}

# FunnelPlotR's exact SR limits, for O ~ Poisson(theta * E): chi-square quantiles with 2*theta*E and 2*(theta*E + 1)
# degrees of freedom (lower.tail = FALSE with 1 - p, as FunnelPlotR writes it).
poisson_ratio_limit <- function(p, e, theta) {
  df <- if (p < 0.5) 2 * theta * e else 2 * (theta * e + 1)
  (qchisq(1 - p, df, lower.tail = FALSE) / 2) / e
}

scale_funs <- function(kind, scale, theta) {
  if (kind == "proportion" && scale == "identity") {
    list(g = function(x) x, inv = function(v) pmin(pmax(v, 0), 1), se = function(n) sqrt(theta * (1 - theta) / n))
  } else if (kind == "proportion" && scale == "arcsine") {
    list(g = function(x) asin(sqrt(x)), inv = function(v) sin(pmin(pmax(v, 0), pi / 2))^2,
         se = function(n) 1 / (2 * sqrt(n)))
  } else if (scale == "sqrt") {
    list(g = sqrt, inv = function(v) pmax(v, 0)^2, se = function(e) 1 / (2 * sqrt(e)))
  } else if (scale == "log") {
    list(g = log, inv = exp, se = function(e) 1 / sqrt(theta * e))
  } else {
    list(g = function(x) x, inv = function(v) pmax(v, 0), se = function(e) sqrt(theta / e))
  }
}

# Spiegelhalter (2005, QSHC) / FunnelPlotR winsorisation, phi_func and tau_func.
overdispersion <- function(z, s, trim = 0.1) {
  keep <- is.finite(z) & is.finite(s) & s > 0
  z <- z[keep]
  s <- s[keep]
  k <- length(z)
  if (k < 2) return(list(k = k, winsorised = 0L, phi = NA_real_, tau2 = NA_real_))
  q <- quantile(z, c(trim, 1 - trim), type = 7, names = FALSE)
  wz <- ifelse(z < q[1], q[1], ifelse(z > q[2], q[2], z))
  phi <- sum(wz^2) / k
  w <- 1 / s^2
  tau2 <- if (k * phi < k - 1) 0 else max(0, (k * phi - (k - 1)) / (sum(w) - sum(w^2) / sum(w)))
  list(k = k, winsorised = sum(z < q[1] | z > q[2]), phi = phi, tau2 = tau2)
}

for (prefix in c("", "qi_")) {
  funnel_units <- read.csv(file.path(data_dir, paste0(prefix, "funnel_units.csv")), stringsAsFactors = FALSE,
                           colClasses = c(unit = "character"))

  # Indirect standardisation (observed / expected per unit) from counts per unit x stratum (funnel_strata.csv: data,
  # unit, stratum, events, exposure = participants or person-years, shown): each stratum's rate over all units,
  # E = sum over strata of the unit's exposure x that rate, O = the unit's events; the units shown are the funnel's.
  strata_file <- file.path(data_dir, paste0(prefix, "funnel_strata.csv"))
  if (file.exists(strata_file)) {
    strata <- read.csv(strata_file, stringsAsFactors = FALSE, colClasses = c(unit = "character"))
    for (d in unique(strata$data)) {
      s <- strata[strata$data == d, ]
      rate <- tapply(s$events, s$stratum, sum) / tapply(s$exposure, s$stratum, sum)
      rate[!is.finite(rate)] <- 0
      s$expected <- s$exposure * rate[s$stratum]
      o <- tapply(s$events, s$unit, sum)
      e <- tapply(s$expected, s$unit, sum)
      shown <- sort(unique(s$unit[s$shown == "True" | s$shown == "TRUE"]))
      funnel_units <- rbind(funnel_units, data.frame(case = d, unit = shown, numerator = as.double(o[shown]),
                                                     denominator = as.double(e[shown])))
    }
  }
  funnel_cases <- read.csv(file.path(data_dir, paste0(prefix, "funnel_cases.csv")), stringsAsFactors = FALSE,
                           na.strings = c("", "NA"))

  units_out <- list()
  disp_out <- list()
  for (i in seq_len(nrow(funnel_cases))) {
    fc <- funnel_cases[i, ]
    d <- funnel_units[funnel_units$case == fc$data, ]
    num <- d$numerator
    den <- d$denominator
    ok <- !is.na(num) & !is.na(den) & den > 0
    theta <- if (!is.na(fc$target)) fc$target else if (fc$kind == "ratio") 1 else sum(num[ok]) / sum(den[ok])
    y <- ifelse(ok, num / den, NA)
    f <- scale_funs(fc$kind, fc$scale, theta)
    s <- f$se(ifelse(ok, den, NA))
    z <- (f$g(y) - f$g(theta)) / s
    od <- overdispersion(z, s)
    adjusted <- fc$adjustment != "none" && !is.na(od$phi) && od$phi > 1
    res <- data.frame(case = fc$case, unit = d$unit, value = as.double(y), z = as.double(z))
    for (lv in levels) {
      p_low <- as.numeric(lv[2])
      p_high <- as.numeric(lv[3])
      if (adjusted || fc$method == "normal") {
        spread <- if (!adjusted) s else if (fc$adjustment == "multiplicative") sqrt(od$phi) * s else sqrt(s^2 + od$tau2)
        width <- qnorm(p_high) * spread
        low <- f$inv(f$g(theta) - width)
        high <- f$inv(f$g(theta) + width)
      } else if (fc$kind == "proportion") {
        low <- spiegelhalter_limit(p_low, den, theta)
        high <- spiegelhalter_limit(p_high, den, theta)
      } else {
        low <- poisson_ratio_limit(p_low, den, theta)
        high <- poisson_ratio_limit(p_high, den, theta)
      }
      low[!ok] <- NA
      high[!ok] <- NA
      res[[paste0("lower_", lv[1])]] <- as.double(low)
      res[[paste0("upper_", lv[1])]] <- as.double(high)
    }
    alarm <- ok & (res$value > res$upper_998 | res$value < res$lower_998)
    alert <- ok & !alarm & (res$value > res$upper_95 | res$value < res$lower_95)
    res$flag <- ifelse(!ok, "no_data", ifelse(alarm, "alarm", ifelse(alert, "alert", "within")))
    res$side <- ifelse(ok & res$value > res$upper_95, "high", ifelse(ok & res$value < res$lower_95, "low", "none"))
    units_out[[i]] <- res
    disp_out[[i]] <- data.frame(case = fc$case, target = as.double(theta), k = od$k, winsorised = od$winsorised,
                                phi = as.double(od$phi), tau2 = as.double(od$tau2), adjusted = adjusted)
  }
  write_out(do.call(rbind, units_out), paste0(prefix, "funnel_units.csv"))
  write_out(do.call(rbind, disp_out), paste0(prefix, "funnel_dispersion.csv"))
}
