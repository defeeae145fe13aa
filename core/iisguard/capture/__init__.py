"""One parser per artifact format, format detection, and assembly into a snapshot."""
