# Reference values for the biomarker-risk analysis (ferritin band vs augmentation), computed row by row in R.
#
# Run from the repository root:  Rscript tests/reference/r/biomarker_risk.R
# Written with R 4.2.2, survival 3.5-3, splines (base). Reads tests/reference/data/demo_treated.csv (treated
# participants with a ferritin value from the seeded demo generator, see tests/reference/make_datasets.py); writes
# tests/reference/expected/biomarker_*.csv, compared at 1e-6 relative by tests/reference/test_biomarker_vs_r.py.

suppressMessages({library(survival); library(splines)})
out <- function(df, name) write.csv(df, file.path("tests/reference/expected", name), row.names = FALSE)
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
cox_ctl <- coxph.control(eps = 1e-11, iter.max = 100)
z <- qnorm(0.975)
d <- read.csv("tests/reference/data/demo_treated.csv", stringsAsFactors = FALSE)
d$time <- d$days / 365.25
labels <- c("<50", "50-75", "75-100", ">=100")
d$band <- factor(labels[findInterval(d$ferritin, c(50, 75, 100)) + 1], levels = labels)
d$band <- relevel(d$band, ref = ">=100")

# Per band: n, events, person-years, risk (Wilson), rate per 100 person-years (exact Poisson).
bands <- do.call(rbind, lapply(labels, function(b) {
  s <- d[d$band == b, ]; x <- sum(s$augmented); n <- nrow(s); pt <- sum(s$time)
  w <- prop.test(x, n, correct = FALSE)$conf.int; p <- poisson.test(x, pt)$conf.int
  data.frame(band = b, n = n, events = x, person_time = pt, risk = x / n, risk_low = w[1], risk_high = w[2],
             rate_per_100 = 100 * x / pt, rate_low = 100 * p[1], rate_high = 100 * p[2])
}))
out(bands, "biomarker_bands.csv")

band_rows <- function(fit, measure, exp_coef = TRUE) {
  s <- coef(summary(fit))
  do.call(rbind, lapply(labels[1:3], function(b) {
    term <- paste0("band", b); est <- s[term, 1]; se <- s[term, if (inherits(fit, "coxph")) 3 else 2]
    p <- s[term, ncol(s)]
    data.frame(measure = measure, band = b, estimate = exp(est), ci_low = exp(est - z * se),
               ci_high = exp(est + z * se), p_value = p)
  }))
}
crude <- glm(augmented ~ band, family = binomial, data = d, control = ctl)
adjusted <- glm(augmented ~ band + age + factor(sex) + factor(drug), family = binomial, data = d, control = ctl)
cox_b <- coxph(Surv(time, augmented) ~ band + age + factor(sex) + factor(drug), data = d, ties = "breslow",
               control = cox_ctl)
cox_e <- coxph(Surv(time, augmented) ~ band + age + factor(sex) + factor(drug), data = d, ties = "efron",
               control = cox_ctl)
out(rbind(band_rows(crude, "crude_or"), band_rows(adjusted, "adjusted_or"), band_rows(cox_b, "hr_breslow"),
          band_rows(cox_e, "hr_efron")), "biomarker_estimates.csv")

zph <- cox.zph(cox_b, transform = "km", terms = FALSE)$table["GLOBAL", ]
lr <- survdiff(Surv(time, augmented) ~ band, data = d)
out(data.frame(test = c("proportional_hazards", "logrank"), statistic = c(zph[["chisq"]], lr$chisq),
               df = c(zph[["df"]], length(lr$n) - 1),
               p_value = c(zph[["p"]], pchisq(lr$chisq, length(lr$n) - 1, lower.tail = FALSE))),
    "biomarker_tests.csv")

# Kaplan-Meier per band at 0.5, 1, 2, 3, 5 years: log-log CIs and numbers at risk.
km <- do.call(rbind, lapply(labels, function(b) {
  f <- survfit(Surv(time, augmented) ~ 1, data = d[d$band == b, ], conf.type = "log-log")
  s <- summary(f, times = c(0.5, 1, 2, 3, 5))
  data.frame(band = b, time = s$time, survival = s$surv, ci_low = s$lower, ci_high = s$upper, at_risk = s$n.risk)
}))
out(km, "biomarker_km.csv")

# Dose-response: natural spline of log ferritin (knots at the participants' quantiles); grid from the 1st to the
# 99th percentile (61 log-spaced points plus the cut points).
lx <- log(d$ferritin)
knots <- quantile(lx, c(0.25, 0.5, 0.75)); bounds <- range(lx)
lim <- exp(quantile(lx, c(0.01, 0.99)))
grid <- sort(unique(c(exp(seq(log(lim[1]), log(lim[2]), length.out = 61)), c(50, 75, 100))))
grid <- grid[grid >= lim[1] & grid <= lim[2]]
risk_fit <- glm(augmented ~ ns(log(ferritin), knots = knots, Boundary.knots = bounds), family = binomial, data = d,
                control = ctl)
p <- predict(risk_fit, newdata = data.frame(ferritin = grid), type = "link", se.fit = TRUE)
cox_ns <- coxph(Surv(time, augmented) ~ ns(log(ferritin), knots = knots, Boundary.knots = bounds) + age +
                  factor(sex) + factor(drug), data = d, ties = "breslow", control = cox_ctl)
basis <- function(x) ns(log(x), knots = knots, Boundary.knots = bounds)
contrast <- basis(grid) - matrix(basis(100), nrow = length(grid), ncol = 4, byrow = TRUE)
beta <- coef(cox_ns)[1:4]; V <- vcov(cox_ns)[1:4, 1:4]
eta <- as.vector(contrast %*% beta); se <- sqrt(rowSums((contrast %*% V) * contrast))
out(data.frame(biomarker = grid, risk = plogis(p$fit), risk_low = plogis(p$fit - z * p$se.fit),
               risk_high = plogis(p$fit + z * p$se.fit), hr = exp(eta), hr_low = exp(eta - z * se),
               hr_high = exp(eta + z * se)), "biomarker_dose_response.csv")
cat("wrote tests/reference/expected/biomarker_*.csv\n")
