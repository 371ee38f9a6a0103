"""What the critic sees: faces matched to characters across the film, and colour and light within a scene."""
