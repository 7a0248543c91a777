# Reference values for the risk-factor table: crude and adjusted odds ratios with Wald 95% CIs (confint.default)
# and the likelihood-ratio test per factor (drop1(test = "LRT")), from glm(family = binomial) on participant rows.
#
# Run from the repository root:  Rscript tests/reference/r/risk_factors.R
# Written with R 4.2.2 (stats, splines). Reads two committed cohorts:
#   tests/reference/data/demo_risk_factors.csv  the seed-11 demo extract's risk factors (tests/reference/make_datasets.py)
#   tests/data/cohorts/colon/colon.csv          survival::colon, death records (tests/reference/r/export_cohorts.R)
# Writes tests/reference/expected/risk_factors_{or,lr,models}.csv, compared with the analysis run in exact mode by
# tests/unit/test_risk_factors_vs_r.py.
#
# Each model uses the participants with the outcome and every factor known (complete cases); each crude model is the
# factor alone on those same participants. A numeric factor enters linearly, as ns(x, df = 4) (knots at quantiles of
# the participants, as the analysis places them) or in bands: age bands 18-29, 30-39, ..., 80+; another variable cut
# at its quartiles among the participants rounded to 3 significant digits (those inside (min, max]), intervals
# [lower, upper) labelled "<a", "a-b", ">=c" — the analysis's rule.

suppressMessages(library(splines))
tight <- glm.control(epsilon = 1e-14, maxit = 100)  # converged to the last digits (the default stops at 1e-8)
out <- function(df, name) write.csv(df, file.path("tests/reference/expected", name), row.names = FALSE)

wald <- function(fit, coef) {
  ci <- confint.default(fit)[coef, ]
  c(exp(coef(fit)[[coef]]), exp(ci[[1]]), exp(ci[[2]]))
}

# A factor: its name in the analysis, its term in the formula, and its coefficients by level label (none: a spline).
factor_spec <- function(name, term, coefs = character()) list(name = name, term = term, coefs = coefs)

fit_model <- function(d, outcome, factors, cohort, model) {
  vars <- unique(unlist(lapply(factors, function(f) all.vars(as.formula(paste("~", f$term))))))
  d <- d[complete.cases(d[, c(outcome, vars)]), ]
  rhs <- paste(vapply(factors, `[[`, "", "term"), collapse = " + ")
  full <- glm(as.formula(paste(outcome, "~", rhs)), family = binomial, data = d, control = tight)
  lr <- drop1(full, test = "LRT")[-1, ]
  ors <- do.call(rbind, lapply(factors, function(f) {
    if (!length(f$coefs)) return(NULL)
    crude <- glm(as.formula(paste(outcome, "~", f$term)), family = binomial, data = d, control = tight)
    do.call(rbind, lapply(names(f$coefs), function(level) {
      cr <- wald(crude, f$coefs[[level]]); ad <- wald(full, f$coefs[[level]])
      data.frame(cohort = cohort, model = model, factor = f$name, level = level, crude_or = cr[1],
                 crude_low = cr[2], crude_high = cr[3], adjusted_or = ad[1], adjusted_low = ad[2],
                 adjusted_high = ad[3])
    }))
  }))
  tests <- data.frame(cohort = cohort, model = model, factor = vapply(factors, `[[`, "", "name"),
                      statistic = lr$LRT, df = lr$Df, p = lr$`Pr(>Chi)`)
  events <- sum(d[[outcome]] == 1)
  models <- data.frame(cohort = cohort, model = model, n = nrow(d), events = events,
                       parameters = length(coef(full)) - 1,
                       events_per_parameter = min(events, nrow(d) - events) / (length(coef(full)) - 1))
  list(ors = ors, tests = tests, models = models)
}

age_band <- function(age) {
  lows <- c(min(age), 30, 40, 50, 60, 70, 80)
  labels <- c(paste0(lows[-length(lows)], "-", lows[-1] - 1), paste0(lows[length(lows)], "+"))
  factor(labels[findInterval(age, lows)], levels = labels)
}

quartile_band <- function(x) {
  cuts <- signif(quantile(x, c(0.25, 0.5, 0.75), type = 7, names = FALSE), 3)
  cuts <- sort(unique(cuts[cuts > min(x) & cuts <= max(x)]))
  g <- function(v) format(v, digits = 15, drop0trailing = TRUE, trim = TRUE)
  labels <- c(paste0("<", g(cuts[1])), if (length(cuts) > 1) paste0(g(cuts[-length(cuts)]), "-", g(cuts[-1])),
              paste0(">=", g(cuts[length(cuts)])))
  factor(labels[findInterval(x, cuts) + 1], levels = labels)
}

# --- the demo sample -------------------------------------------------------------------------------------------
demo <- read.csv("tests/reference/data/demo_risk_factors.csv", stringsAsFactors = FALSE)
demo$sex <- factor(demo$sex, levels = c("M", "F"))  # men the reference: the OR of women vs men
demo$bmi_group <- factor(demo$bmi_group, levels = sort(unique(demo$bmi_group), method = "radix"))  # C-locale order
demo$age_band <- age_band(demo$age)

linear <- list(
  factor_spec("sex", "sex", c(women = "sexF")),
  factor_spec("age", "age", c("per 1 year" = "age")),
  factor_spec("neuropathy", "neuropathy", c(yes = "neuropathy")),
  factor_spec("family_history", "family_history", c(yes = "family_history")),
  factor_spec("iron_deficiency", "iron_deficiency", c(yes = "iron_deficiency")),
  factor_spec("bmi_group", "bmi_group", c("<25" = "bmi_group<25", ">=30" = "bmi_group>=30")),
  factor_spec("egfr", "ns(egfr, df = 4)"))
band_levels <- levels(demo$age_band)[-1]
bands <- list(
  factor_spec("sex", "sex", c(women = "sexF")),
  factor_spec("age", "age_band", setNames(paste0("age_band", band_levels), band_levels)),
  factor_spec("neuropathy", "neuropathy", c(yes = "neuropathy")),
  factor_spec("family_history", "family_history", c(yes = "family_history")))

# --- colon (survival::colon, death records; the load drops the 2 patients with nodes = 0, see its mapping) ------
colon <- read.csv("tests/data/cohorts/colon/colon.csv", stringsAsFactors = FALSE)
colon <- colon[is.na(colon$nodes) | colon$nodes > 0, ]
colon$sex <- factor(colon$sex, levels = c(1, 0), labels = c("male", "female"))  # 1 = male
colon$differ <- factor(colon$differ)
binary <- function(name, column = name) factor_spec(name, column, c(yes = column))
defaults <- list(
  factor_spec("sex", "sex", c(women = "sexfemale")),
  factor_spec("age", "age", c("per 1 year" = "age")),
  binary("obstruct"), binary("perfor"), binary("adhere"), binary("surg"), binary("node4"))
known <- colon[complete.cases(colon[, c("status", "sex", "age", "differ", "nodes")]), ]
known$nodes_band <- quartile_band(known$nodes)
node_levels <- levels(known$nodes_band)[-1]
mixed <- list(
  factor_spec("sex", "sex", c(women = "sexfemale")),
  factor_spec("age", "ns(age, df = 4)"),
  factor_spec("differ", "differ", c("2" = "differ2", "3" = "differ3")),
  factor_spec("nodes", "nodes_band", setNames(paste0("nodes_band", node_levels), node_levels)))

fits <- list(fit_model(demo, "rls", linear, "demo", "linear"), fit_model(demo, "rls", bands, "demo", "bands"),
             fit_model(colon, "status", defaults, "colon", "defaults"),
             fit_model(known, "status", mixed, "colon", "mixed"))
out(do.call(rbind, lapply(fits, `[[`, "ors")), "risk_factors_or.csv")
out(do.call(rbind, lapply(fits, `[[`, "tests")), "risk_factors_lr.csv")
out(do.call(rbind, lapply(fits, `[[`, "models")), "risk_factors_models.csv")
