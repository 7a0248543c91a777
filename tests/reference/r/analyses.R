# Reference values for the odds-ratio and prevalence analyses, computed row by row in R.
#
# Run from the repository root:  Rscript tests/reference/r/analyses.R
# Written with R 4.2.2, epitools 0.5-10.1, splines (base). Reads tests/reference/data/demo_cohort.csv (the seeded
# demo generator's output, see tests/reference/make_datasets.py) and R's UCBAdmissions; writes
# tests/reference/expected/analyses_*.csv, which tests/reference/test_analyses_vs_r.py compares at 1e-6 relative.

suppressMessages({library(splines); library(epitools)})
# glm's default convergence (epsilon = 1e-8 on the deviance) leaves standard errors off in the 5th digit; tighten it.
ctl <- glm.control(epsilon = 1e-14, maxit = 100)
out <- function(df, name) write.csv(df, file.path("tests/reference/expected", name), row.names = FALSE)
z <- qnorm(0.975)
d <- read.csv("tests/reference/data/demo_cohort.csv", stringsAsFactors = FALSE)
d$female <- as.integer(d$sex == "F")
edges <- c(30, 40, 50, 60, 70, 80)
band_of <- function(age) {
  lows <- c(min(age), edges[edges > min(age)])
  highs <- c(lows[-1] - 1, NA)
  labels <- ifelse(is.na(highs), paste0(lows, "+"), paste0(lows, "-", highs))
  factor(labels[findInterval(age, lows)], levels = labels)
}

# Breslow-Day statistic with Tarone's correction (Breslow & Day 1980, eq. 4.30; Tarone 1985), written out.
breslow_day <- function(tab) {  # tab: 2 x 2 x K, rows exposure (exposed first), columns outcome (case first)
  or_mh <- mantelhaen.test(tab, correct = FALSE)$estimate
  stat <- 0; sum_a <- 0; sum_e <- 0; sum_v <- 0
  for (k in seq_len(dim(tab)[3])) {
    t <- tab[, , k]; m1 <- sum(t[, 1]); n1 <- sum(t[1, ]); n0 <- sum(t[2, ]); N <- sum(t)
    lo <- max(0, m1 - n0); hi <- min(m1, n1)
    f <- function(a) a * (n0 - m1 + a) - or_mh * (n1 - a) * (m1 - a)
    e <- uniroot(f, c(lo, hi), tol = 1e-14)$root
    v <- 1 / (1 / e + 1 / (n1 - e) + 1 / (m1 - e) + 1 / (n0 - m1 + e))
    stat <- stat + (t[1, 1] - e)^2 / v
    sum_a <- sum_a + t[1, 1]; sum_e <- sum_e + e; sum_v <- sum_v + v
  }
  stat <- stat - (sum_a - sum_e)^2 / sum_v
  c(statistic = unname(stat), df = dim(tab)[3] - 1, p = pchisq(unname(stat), dim(tab)[3] - 1, lower.tail = FALSE))
}

# fisher.test's conditional MLE and exact CI, with uniroot's tolerance tightened from its default (~1.2e-4, which
# shows in the 5th digit) to 1e-13; otherwise the same computation as stats:::fisher.test for a 2 x 2 table.
fisher_precise <- function(tab, conf.level = 0.95, tol = 1e-13) {
  m <- sum(tab[, 1]); n <- sum(tab[, 2]); k <- sum(tab[1, ]); x <- tab[1, 1]
  lo <- max(0, k - n); hi <- min(k, m); support <- lo:hi
  logdc <- dhyper(support, m, n, k, log = TRUE)
  dnhyper <- function(ncp) { d <- logdc + log(ncp) * support; d <- exp(d - max(d)); d / sum(d) }
  mnhyper <- function(ncp) if (ncp == 0) lo else if (ncp == Inf) hi else sum(support * dnhyper(ncp))
  pnhyper <- function(q, ncp, upper.tail = FALSE) {
    if (ncp == 1) return(if (upper.tail) phyper(x - 1, m, n, k, lower.tail = FALSE) else phyper(x, m, n, k))
    if (upper.tail) sum(dnhyper(ncp)[support >= q]) else sum(dnhyper(ncp)[support <= q])
  }
  root <- function(f, lower, upper) uniroot(f, c(lower, upper), tol = tol)$root
  mu <- mnhyper(1)
  est <- if (mu > x) root(function(t) mnhyper(t) - x, 0, 1) else if (mu < x)
    1 / root(function(t) mnhyper(1 / t) - x, .Machine$double.eps, 1) else 1
  alpha <- (1 - conf.level) / 2
  ncp_u <- function() {
    if (x == hi) return(Inf); p <- pnhyper(x, 1)
    if (p < alpha) root(function(t) pnhyper(x, t) - alpha, 0, 1) else if (p > alpha)
      1 / root(function(t) pnhyper(x, 1 / t) - alpha, .Machine$double.eps, 1) else 1
  }
  ncp_l <- function() {
    if (x == lo) return(0); p <- pnhyper(x, 1, upper.tail = TRUE)
    if (p > alpha) root(function(t) pnhyper(x, t, upper.tail = TRUE) - alpha, 0, 1) else if (p < alpha)
      1 / root(function(t) pnhyper(x, 1 / t, upper.tail = TRUE) - alpha, .Machine$double.eps, 1) else 1
  }
  list(estimate = est, conf.int = c(ncp_l(), ncp_u()), p.value = fisher.test(tab)$p.value)
}

row <- function(dataset, measure, estimate, low = NA, high = NA, p = NA, statistic = NA, df = NA)
  data.frame(dataset = dataset, measure = measure, estimate = estimate, ci_low = low, ci_high = high,
             p_value = p, statistic = statistic, df = df)

odds_ratio_rows <- function(d, outcome, dataset) {
  y <- d[[outcome]]
  tab <- table(factor(d$female, levels = c(1, 0)), factor(y, levels = c(1, 0)))
  w <- oddsratio.wald(tab)$measure[2, ]
  lw <- log(tab[1, 1] * tab[2, 2] / (tab[1, 2] * tab[2, 1])); se <- sqrt(sum(1 / tab))
  f <- fisher_precise(tab)
  strata <- table(factor(d$female, levels = c(1, 0)), factor(y, levels = c(1, 0)), band_of(d$age))
  mh <- mantelhaen.test(strata, correct = FALSE)
  bd <- breslow_day(strata)
  knots <- quantile(d$age, c(0.25, 0.5, 0.75)); bounds <- range(d$age)
  fit_lin <- glm(y ~ female + age, family = binomial, data = d, control = ctl)
  fit_ns <- glm(y ~ female + ns(age, knots = knots, Boundary.knots = bounds) + factor(site), family = binomial,
                data = d, control = ctl)
  red_ns <- glm(y ~ ns(age, knots = knots, Boundary.knots = bounds) + factor(site), family = binomial, data = d, control = ctl)
  adj <- function(fit) {
    b <- coef(summary(fit))["female", ]
    c(exp(b[1]), exp(b[1] - z * b[2]), exp(b[1] + z * b[2]), b[4])
  }
  a1 <- adj(fit_lin); a2 <- adj(fit_ns)
  lr1 <- anova(glm(y ~ age, family = binomial, data = d, control = ctl), fit_lin)$Deviance[2]
  lr2 <- anova(red_ns, fit_ns)$Deviance[2]
  rbind(
    row(dataset, "crude_or", w[1], w[2], w[3], 2 * pnorm(-abs(lw / se))),
    row(dataset, "exact_or", f$estimate, f$conf.int[1], f$conf.int[2], f$p.value),
    row(dataset, "mh_or", mh$estimate, mh$conf.int[1], mh$conf.int[2], mh$p.value),
    row(dataset, "breslow_day", NA, p = bd["p"], statistic = bd["statistic"], df = bd["df"]),
    row(dataset, "adjusted_or_age_linear", a1[1], a1[2], a1[3], a1[4]),
    row(dataset, "lr_exposure_age_linear", NA, p = pchisq(lr1, 1, lower.tail = FALSE), statistic = lr1, df = 1),
    row(dataset, "adjusted_or_age_spline_site", a2[1], a2[2], a2[3], a2[4]),
    row(dataset, "lr_exposure_age_spline_site", NA, p = pchisq(lr2, 1, lower.tail = FALSE), statistic = lr2, df = 1)
  )
}

# Per-stratum ORs (Woolf) across age bands, for the forest plot.
strata_rows <- function(d, outcome) {
  bands <- band_of(d$age)
  do.call(rbind, lapply(levels(bands), function(b) {
    s <- d[bands == b, ]
    t <- table(factor(s$female, levels = c(1, 0)), factor(s[[outcome]], levels = c(1, 0)))
    w <- oddsratio.wald(t)$measure[2, ]
    data.frame(outcome = outcome, stratum = b, or = w[1], ci_low = w[2], ci_high = w[3], n = sum(t))
  }))
}

# UCBAdmissions: admission (case) by sex, stratified by department — a classic MH / Breslow-Day example.
ucb <- aperm(UCBAdmissions, c(2, 1, 3))[c("Female", "Male"), c("Admitted", "Rejected"), ]
ucb_mh <- mantelhaen.test(ucb, correct = FALSE)
ucb_bd <- breslow_day(ucb)
ucb_rows <- rbind(
  row("UCBAdmissions", "mh_or", ucb_mh$estimate, ucb_mh$conf.int[1], ucb_mh$conf.int[2], ucb_mh$p.value),
  row("UCBAdmissions", "breslow_day", NA, p = ucb_bd["p"], statistic = ucb_bd["statistic"], df = ucb_bd["df"])
)
out(rbind(odds_ratio_rows(d, "rls", "demo_cohort/rls"), odds_ratio_rows(d, "rls_clinsig", "demo_cohort/rls_clinsig"),
          ucb_rows), "analyses_odds_ratio.csv")
out(rbind(strata_rows(d, "rls"), strata_rows(d, "rls_clinsig")), "analyses_strata.csv")

# Prevalence by sex and age band (Wilson = prop.test without continuity correction).
d$band <- band_of(d$age)
prev <- do.call(rbind, lapply(c("F", "M"), function(s) do.call(rbind, lapply(levels(d$band), function(b) {
  x <- sum(d$rls[d$sex == s & d$band == b]); n <- sum(d$sex == s & d$band == b)
  ci <- prop.test(x, n, correct = FALSE)$conf.int
  data.frame(sex = ifelse(s == "F", "women", "men"), age_band = b, events = x, n = n, prevalence = x / n,
             ci_low = ci[1], ci_high = ci[2])
}))))
out(prev, "analyses_prevalence_rows.csv")

# Spline curve per sex: knots at quantiles of all participants' ages, CI on the logit scale; peak on a 0.1 grid.
knots <- quantile(d$age, c(0.25, 0.5, 0.75)); bounds <- range(d$age)
ages <- seq(bounds[1], bounds[2]); grid <- seq(bounds[1], bounds[2], by = 0.1)
curves <- list(); peaks <- list()
for (s in c("F", "M")) {
  fit <- glm(rls ~ ns(age, knots = knots, Boundary.knots = bounds), family = binomial, data = d[d$sex == s, ],
             control = ctl)
  p <- predict(fit, newdata = data.frame(age = ages), type = "link", se.fit = TRUE)
  label <- ifelse(s == "F", "women", "men")
  curves[[s]] <- data.frame(sex = label, age = ages, prevalence = plogis(p$fit), ci_low = plogis(p$fit - z * p$se.fit),
                            ci_high = plogis(p$fit + z * p$se.fit))
  eta <- predict(fit, newdata = data.frame(age = grid), type = "link")
  peaks[[s]] <- data.frame(sex = label, age = round(grid[which.max(eta)], 1), prevalence = plogis(max(eta)))
}
out(do.call(rbind, curves), "analyses_prevalence_curve.csv")
out(do.call(rbind, peaks), "analyses_prevalence_peak.csv")

# Direct standardization to the European Standard Population 2013: each 5-year group spread evenly over its
# single years; the open 95+ group goes to the open top band; weights renormalised over the bands.
esp <- c(5000, 5500, 5500, 5500, 6000, 6000, 6500, 7000, 7000, 7000, 7000, 6500, 6000, 5500, 5000, 4000, 2500, 1500,
         800, 200)
single <- c(rep(esp[1:19] / 5, each = 5), esp[20])  # ages 0..94 then 95+ as one entry (index 96)
lows <- c(min(d$age), edges[edges > min(d$age)])
weights <- sapply(seq_along(lows), function(i) {
  from <- lows[i]; to <- if (i < length(lows)) lows[i + 1] - 1 else 95
  sum(single[(from:to) + 1])
})
std <- do.call(rbind, lapply(c("women", "men"), function(s) {
  part <- prev[prev$sex == s, ]
  a <- ageadjust.direct(count = part$events, pop = part$n, stdpop = weights)
  w <- weights / sum(weights)
  data.frame(sex = s, rate = a[["adj.rate"]], ci_low = a[["lci"]], ci_high = a[["uci"]],
             variance = sum((w / part$n)^2 * part$events))
}))
ratio <- std$rate[1] / std$rate[2]
se_log <- sqrt(std$variance[1] / std$rate[1]^2 + std$variance[2] / std$rate[2]^2)
std <- rbind(std, data.frame(sex = "ratio", rate = ratio, ci_low = ratio * exp(-z * se_log),
                             ci_high = ratio * exp(z * se_log), variance = NA))
out(std, "analyses_prevalence_standardized.csv")
cat("wrote tests/reference/expected/analyses_*.csv\n")
