# Four public, real cohorts from R's survival package, exported as test data with their own column names and
# codes (nothing recoded, no column added), so the loader and the analyses can be run on cohorts that were not
# made for this project. Each folder also holds a hand-written mapping.toml binding those columns to the roles.
#
# Run from the repository root:
#     Rscript tests/reference/r/export_cohorts.R
# Written and run with R 4.2.2 (Debian), survival 3.5-3 (Debian's r-cran-survival). No other package is needed.
#
# Writes tests/data/cohorts/<name>/<name>.csv (write.csv, row.names = FALSE, na = "": missing values are empty
# cells; factors are written as their labels) and tests/data/cohorts/LICENSE.md (source, version and licence).
#
#   flchain  survival::flchain, all 7,874 rows, all 11 columns.
#   colon    survival::colon, the death records only (etype == 2): 929 rows, one per patient, all 16 columns
#            (study is 1 and etype 2 on every row; they are kept to leave the dataset as published).
#   nafld1   survival::nafld1, all 17,549 rows, all 9 columns.
#   lung     survival::lung, all 228 rows, all 10 columns (inst: the institution, the units of a funnel plot).
#
# Rerunning gives the same bytes for the same survival version; a different version may change the data (the
# check below stops on a row-count change rather than writing silently different test data).

suppressPackageStartupMessages(library(survival))
if (!file.exists("tests/reference/r/export_cohorts.R")) stop("run from the repository root")
out_root <- "tests/data/cohorts"

write_cohort <- function(x, name) {
    dir <- file.path(out_root, name)
    dir.create(dir, recursive = TRUE, showWarnings = FALSE)
    rownames(x) <- NULL
    write.csv(x, file.path(dir, paste0(name, ".csv")), row.names = FALSE, na = "")
    cat(sprintf("%s: %d rows, %d columns\n", name, nrow(x), ncol(x)))
}

flchain <- survival::flchain
colon <- survival::colon[survival::colon$etype == 2, ]
nafld1 <- survival::nafld1
lung <- survival::lung

stopifnot(nrow(flchain) == 7874, nrow(colon) == 929, nrow(nafld1) == 17549, nrow(lung) == 228)
stopifnot(!anyDuplicated(colon$id), !anyDuplicated(nafld1$id))

write_cohort(flchain, "flchain")
write_cohort(colon, "colon")
write_cohort(nafld1, "nafld1")
write_cohort(lung, "lung")

# ------------------------------------------------------------------------------------------------ licence
desc <- packageDescription("survival")
license <- c(
    "# Test cohorts: source and licence",
    "",
    "The four cohorts in this folder are datasets shipped inside the R package **survival**",
    sprintf("(version %s, %s; maintainer %s), exported with `tests/reference/r/export_cohorts.R` under %s.",
            desc$Version, desc$Date, sub(" <.*", "", desc$Maintainer), R.version.string),
    sprintf("The package, which includes these datasets, is distributed under **%s** (GNU Lesser General",
            desc$License),
    "Public License, version 2 or any later version); see <https://cran.r-project.org/package=survival> and",
    "<https://www.gnu.org/licenses/old-licenses/lgpl-2.0.html>. The CSV files here are those datasets, unchanged",
    "in content (same column names, codes and values; only `colon` is subset, see below), and are redistributed",
    "under the same licence.",
    "",
    "They are public, de-identified research datasets that the package has distributed for years as teaching and",
    "example data: the package documentation states that original identifiers and dates were removed and that",
    "the data were subsampled to protect the participants. They contain no direct identifiers.",
    "",
    "| folder | dataset | rows | documented origin (R help page) |",
    "|---|---|---|---|",
    paste0("| `flchain/` | `survival::flchain` (`?flchain`) | 7,874 | Serum free light chain assay: an age- and ",
           "sex-stratified random sample of 7,874 of the 15,759 subjects of the Olmsted County, Minnesota study of ",
           "monoclonal gammopathy of undetermined significance (MGUS) begun in 1995 by R. Kyle (residents aged 50 ",
           "or over); FLC assays by A. Dispenzieri and colleagues. Original identifiers and dates removed, ",
           "subsampled. Source: A. Dispenzieri (PI) and T. Therneau. Dispenzieri et al., Mayo Clin Proc ",
           "2012;87:512-523; Kyle et al., N Engl J Med 2006;354:1362-1369. |"),
    paste0("| `colon/` | `survival::colon` (`?colon`), death records only (`etype == 2`) | 929 | Adjuvant ",
           "chemotherapy for stage B/C colon cancer (levamisole, levamisole + 5-FU, observation): one of the ",
           "first successful adjuvant trials (North Central Cancer Treatment Group and Mayo Clinic). Laurie et ",
           "al., J Clin Oncol 1989;7:1447-1456; Moertel et al., N Engl J Med 1990;322:352-358; Moertel et al., ",
           "Ann Intern Med 1995;122:321-326 (the help page prints 332 and 1991 for the last two). The ",
           "package has two records per patient (recurrence, death); only the death record is kept here, ",
           "one row per patient. The help page notes a known inconsistency between `nodes` and `node4`, left ",
           "unfixed by the authors and here. |"),
    paste0("| `nafld1/` | `survival::nafld1` (`?nafld`) | 17,549 | Population cohort of adult non-alcoholic ",
           "fatty liver disease (NAFLD) subjects, 1997-2014, with up to 4 matched controls each, followed for ",
           "metabolic conditions, cardiac endpoints and death (`case.id` is the id of the NAFLD case a subject ",
           "is matched to). All times are days since the index date, no dates retained, identifiers are ",
           "arbitrary integers, and only a 90% random sample is included. Data obtained from the author. ",
           "Allen et al., Hepatology 2018;67:1726-1736. |"),
    paste0("| `lung/` | `survival::lung` (`?lung`) | 228 | Survival of patients with advanced lung cancer from the ",
           "North Central Cancer Treatment Group, with performance scores rated by the physician and the patient ",
           "(`inst`: institution code). Loprinzi et al., J Clin Oncol 1994;12:601-607. |"),
    "",
    "Codes, as documented on the help pages: `flchain` sex F/M, death 0 = alive, 1 = dead, futime in days;",
    "`colon` sex 1 = male (so 0 = female), status 1 = dead (on the death records), time in days, rx",
    "Obs / Lev / Lev+5FU, differ 1-3 (well, moderate, poor), extent 1-4 (submucosa, muscle, serosa, contiguous",
    "structures), surg 0 = short / 1 = long time from surgery to registration; `nafld1` male 0 = female,",
    "1 = male, status 1 = dead, futime in days, weight kg, height cm, bmi kg/m^2; `lung` sex 1 = male,",
    "2 = female, status 1 = censored, 2 = dead, time in days.",
    ""
)
writeLines(license, file.path(out_root, "LICENSE.md"))
cat("LICENSE.md written\n")
