# Reference values for analyses/stats/survival.py, computed with R's survival package.
#
# Run from the repository root:
#     Rscript tests/reference/r/survival.R
# Written and run with R 4.2.2 (Debian), survival 3.5-3. No other package is needed.
#
# Writes the input datasets to tests/reference/data/ (survival_lung.csv and survival_veteran.csv: subsets of
# survival::lung and survival::veteran, one row per participant, count = 1; survival_synthetic.csv: a
# seeded simulation aggregated to one row per (time, event, covariate pattern) with a count) and the
# expected values to tests/reference/expected/survival_*.csv. Every model is fitted on the REPLICATED rows
# (each aggregated row repeated `count` times), which is what the Python functions must reproduce; for the
# synthetic data the Cox models are also fitted on the aggregated rows with weights = count
# (data = "weighted") to document that R's weighted Efron differs from Efron on the replicated rows.
# Nothing here is read by the tests except the CSVs; CI does not need R.

suppressPackageStartupMessages(library(survival))
if (!file.exists("tests/reference/r/survival.R")) stop("run from the repository root")
stopifnot(packageVersion("survival") >= "3.0")
data_dir <- "tests/reference/data"
out_dir <- "tests/reference/expected"

write_csv <- function(x, dir, name) write.csv(x, file.path(dir, name), row.names = FALSE)

# ---------------------------------------------------------------------------------------------- datasets
lung <- with(survival::lung, data.frame(time, event = as.integer(status == 2), age, sex, ph_ecog = ph.ecog))
lung <- lung[complete.cases(lung), ]
lung$count <- 1L

vet <- with(survival::veteran, data.frame(
    time, event = as.integer(status), trt, karno, age,
    smallcell = as.integer(celltype == "smallcell"), adeno = as.integer(celltype == "adeno"),
    large = as.integer(celltype == "large"), celltype = as.character(celltype)))
vet$count <- 1L

# Synthetic cohort: monthly follow-up (many ties), non-proportional effect of sex (Weibull shape differs),
# then aggregated to counts per (time, event, sex, band, marker).
set.seed(20240611)
n <- 2500
people <- data.frame(sex = rbinom(n, 1, 0.5), band = sample(0:2, n, TRUE), marker = sample(0:4, n, TRUE))
rate <- with(people, 0.04 * exp(0.5 * sex + 0.3 * (band == 1) + 0.8 * (band == 2) - 0.15 * marker))
shape <- ifelse(people$sex == 1, 1.4, 1.0)
t_event <- (-log(runif(n)) / rate)^(1 / shape)
t_cens <- pmin(runif(n, 0, 48), 36)
people$time <- ceiling(pmin(t_event, t_cens))
people$event <- as.integer(t_event <= t_cens)
people$count <- 1L
synth <- aggregate(count ~ time + event + sex + band + marker, data = people, FUN = sum)
synth$band1 <- as.integer(synth$band == 1)
synth$band2 <- as.integer(synth$band == 2)
synth <- synth[order(synth$time, -synth$event, synth$sex, synth$band, synth$marker), ]

write_csv(lung, data_dir, "survival_lung.csv")
write_csv(vet, data_dir, "survival_veteran.csv")
write_csv(synth, data_dir, "survival_synthetic.csv")

replicate_rows <- function(d) d[rep(seq_len(nrow(d)), d$count), ]

datasets <- list(
    lung = list(data = lung, terms = c("age", "sex", "ph_ecog"), groups = c("sex"),
                times = c(30, 90, 180, 365, 540, 730)),
    veteran = list(data = vet, terms = c("trt", "karno", "age", "smallcell", "adeno", "large"),
                   groups = c("celltype", "trt"), times = c(7, 30, 90, 180, 365)),
    synthetic = list(data = synth, terms = c("sex", "band1", "band2", "marker"), groups = c("band", "sex"),
                     times = c(0.5, 1, 6, 12, 18, 24, 30, 36)))

ctrl <- coxph.control(eps = 1e-12, toler.chol = 1e-13, iter.max = 100)

km_rows <- list(); km_at_rows <- list(); lr_rows <- list(); coef_rows <- list(); model_rows <- list()
zph_rows <- list()
for (name in names(datasets)) {
    spec <- datasets[[name]]
    rows <- replicate_rows(spec$data)

    # ---------------------------------------------------------------------------------- Kaplan–Meier
    for (ct in c("log", "log-log", "plain")) {
        f <- survfit(Surv(time, event) ~ 1, data = rows, conf.type = ct)
        km_rows[[length(km_rows) + 1]] <- data.frame(
            dataset = name, conf_type = ct, time = f$time, n_risk = f$n.risk, n_event = f$n.event,
            n_censor = f$n.censor, surv = f$surv, std_err_cumhaz = f$std.err, std_err = f$surv * f$std.err,
            lower = f$lower, upper = f$upper)
        s <- summary(f, times = spec$times)
        km_at_rows[[length(km_at_rows) + 1]] <- data.frame(
            dataset = name, conf_type = ct, time = s$time, n_risk = s$n.risk, surv = s$surv,
            std_err = s$std.err, lower = s$lower, upper = s$upper)
    }

    # -------------------------------------------------------------------------------------- log-rank
    for (g in spec$groups) {
        sd <- survdiff(as.formula(paste("Surv(time, event) ~", g)), data = rows)
        df <- sum(sd$exp > 0) - 1
        lr_rows[[length(lr_rows) + 1]] <- data.frame(dataset = name, group = g, chisq = sd$chisq, df = df,
                                                     p = pchisq(sd$chisq, df, lower.tail = FALSE))
    }

    # -------------------------------------------------------------------------------------- Cox, zph
    formula <- as.formula(paste("Surv(time, event) ~", paste(spec$terms, collapse = " + ")))
    fits <- list()
    for (ties in c("breslow", "efron")) {
        fits[[paste(ties, "replicated")]] <- list(ties = ties, data = "replicated",
            fit = coxph(formula, data = rows, ties = ties, control = ctrl))
        if (name == "synthetic")
            fits[[paste(ties, "weighted")]] <- list(ties = ties, data = "weighted",
                fit = coxph(formula, data = spec$data, weights = count, ties = ties, control = ctrl))
    }
    for (item in fits) {
        fit <- item$fit
        ci <- summary(fit)$conf.int
        coef_rows[[length(coef_rows) + 1]] <- data.frame(
            dataset = name, ties = item$ties, data = item$data, term = names(coef(fit)), coef = coef(fit),
            se = sqrt(diag(vcov(fit))), hr = exp(coef(fit)), lower = ci[, "lower .95"],
            upper = ci[, "upper .95"])
        model_rows[[length(model_rows) + 1]] <- data.frame(
            dataset = name, ties = item$ties, data = item$data, n = nrow(rows), events = fit$nevent,
            loglik_null = fit$loglik[1], loglik = fit$loglik[2],
            lr = 2 * (fit$loglik[2] - fit$loglik[1]), score = fit$score, wald = fit$wald.test,
            iterations = fit$iter)
        if (item$data == "replicated") {
            for (tr in c("km", "rank", "identity", "log")) {
                z <- cox.zph(fit, transform = tr, terms = FALSE)$table
                zph_rows[[length(zph_rows) + 1]] <- data.frame(
                    dataset = name, ties = item$ties, transform = tr, term = rownames(z),
                    chisq = z[, "chisq"], df = z[, "df"], p = z[, "p"])
            }
        }
    }
}

write_csv(do.call(rbind, km_rows), out_dir, "survival_km.csv")
write_csv(do.call(rbind, km_at_rows), out_dir, "survival_km_at.csv")
write_csv(do.call(rbind, lr_rows), out_dir, "survival_logrank.csv")
write_csv(do.call(rbind, coef_rows), out_dir, "survival_cox_coef.csv")
write_csv(do.call(rbind, model_rows), out_dir, "survival_cox_model.csv")
write_csv(do.call(rbind, zph_rows), out_dir, "survival_zph.csv")
writeLines(c(R.version.string, paste("survival", packageVersion("survival"))),
           file.path(out_dir, "survival_versions.txt"))
