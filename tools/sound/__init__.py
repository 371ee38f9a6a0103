"""The film's sound beyond its spoken lines: ambience, the bed under the dialogue, the finished mix and its stems."""
