"""Tools for working on pulumi_pcimage itself (not used at run time)."""
