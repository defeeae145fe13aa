"""Rule metadata, evaluation, outcomes, fingerprints, profiles, waivers, baselines."""
