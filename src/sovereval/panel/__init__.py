"""The expert panel: assignments and conflict-of-interest recusal, dossiers, rubric scores with
justifications, lock (export to the store as ratings), inter-rater reliability and outlier raters."""
