"""The blind pairwise arena: battles, Bradley-Terry ratings with bootstrap CIs (optionally style
controlled), anti-abuse filters, and stratified jury quotas with post-stratification weights."""
