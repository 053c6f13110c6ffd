"""The CustomImage lifecycle as a Pulumi package (`pcimage`): schema generator and the provider plugin."""
