"""Statistics with R semantics: two-sample tests (Hodges-Lehmann / Wilcoxon, Welch), proportions
(Fisher, Newcombe) and reader agreement (ICC, Bland-Altman, kappa)."""
