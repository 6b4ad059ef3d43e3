# The primary endpoint and its sensitivity analysis from LungRead's adsl.csv and adqct.csv,
# computed by R alone (issue 16).
#
# Usage: Rscript primary_endpoint.R ADSL.csv ADQCT.csv VISIT TREATMENT CONTROL
# Prints two lines:
# 1. the primary analysis, observed cases in the mITT population (ADSL MITTFL = Y), for the change
#    from baseline (CHG) in whole-lung lesion % (PARAMCD LESPCT) at VISIT, treatment - control,
#    wilcox.test(x, y, conf.int = TRUE):
#    n_treatment n_control HL-estimate CI-low CI-high Wilcoxon-p conf-level
# 2. the worst-rank sensitivity analysis over every randomised subject (ADSL RANDFL = Y) of the
#    two arms, a missing CHG ranked worse than every observed one (max + 1), wilcox.test(x, y):
#    n_treatment n_control imputed_treatment imputed_control Wilcoxon-p P(treated better)
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 5)
adsl <- read.csv(args[1], na.strings = "", stringsAsFactors = FALSE)
adqct <- read.csv(args[2], na.strings = "", stringsAsFactors = FALSE)
visit <- args[3]; treatment <- args[4]; control <- args[5]
chg <- adqct[adqct$PARAMCD == "LESPCT" & adqct$AVISIT == visit & !is.na(adqct$CHG), c("USUBJID", "CHG")]
stopifnot(!anyDuplicated(chg$USUBJID))

# Primary: the mITT subjects of ADSL with an observed change.
mitt <- merge(adsl[adsl$MITTFL == "Y", c("USUBJID", "TRT01P")], chg, by = "USUBJID")
flagged <- adqct$USUBJID[adqct$PARAMCD == "LESPCT" & adqct$AVISIT == visit & adqct$ANL01FL %in% "Y" & !is.na(adqct$CHG)]
stopifnot(setequal(mitt$USUBJID, flagged))  # ADQCT's ANL01FL marks the same records
x <- mitt$CHG[mitt$TRT01P == treatment]
y <- mitt$CHG[mitt$TRT01P == control]
w <- suppressWarnings(wilcox.test(x, y, conf.int = TRUE))
cat(sprintf("%.17g", c(length(x), length(y), w$estimate, w$conf.int[1], w$conf.int[2], w$p.value,
                       attr(w$conf.int, "conf.level"))), "\n")

# Sensitivity: every randomised subject of the two arms, missing changes ranked worst.
rand <- adsl[adsl$RANDFL == "Y" & adsl$TRT01P %in% c(treatment, control), c("USUBJID", "TRT01P")]
all <- merge(rand, chg, by = "USUBJID", all.x = TRUE)
worst <- max(all$CHG, na.rm = TRUE) + 1
imputed <- is.na(all$CHG)
all$CHG[imputed] <- worst
x <- all$CHG[all$TRT01P == treatment]
y <- all$CHG[all$TRT01P == control]
w <- suppressWarnings(wilcox.test(x, y))
cat(sprintf("%.17g", c(length(x), length(y), sum(imputed & all$TRT01P == treatment),
                       sum(imputed & all$TRT01P == control), w$p.value,
                       1 - unname(w$statistic) / (length(x) * length(y)))), "\n")
