# The primary endpoint from LungRead's adqct.csv, computed by R alone (issue 16).
#
# Usage: Rscript primary_endpoint.R ADQCT.csv VISIT TREATMENT CONTROL
# Prints one line: n_treatment n_control HL-estimate CI-low CI-high Wilcoxon-p conf-level,
# for the change from baseline (CHG) in whole-lung lesion % (PARAMCD LESPCT) at VISIT,
# treatment - control, over the records the analysis used (ANL01FL = Y: mITT subjects with a value):
# wilcox.test(x, y, conf.int = TRUE), as the charter's primary analysis.
args <- commandArgs(trailingOnly = TRUE)
stopifnot(length(args) == 4)
adqct <- read.csv(args[1], na.strings = "", stringsAsFactors = FALSE)
rows <- adqct[adqct$PARAMCD == "LESPCT" & adqct$AVISIT == args[2] & adqct$ANL01FL %in% "Y" & !is.na(adqct$CHG), ]
x <- rows$CHG[rows$TRT01P == args[3]]
y <- rows$CHG[rows$TRT01P == args[4]]
w <- suppressWarnings(wilcox.test(x, y, conf.int = TRUE))
cat(sprintf("%.17g", c(length(x), length(y), w$estimate, w$conf.int[1], w$conf.int[2], w$p.value,
                       attr(w$conf.int, "conf.level"))), "\n")
