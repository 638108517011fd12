"""A verify run as people and programs read it: JSON, the timeline, the HTML report."""
