# A script that fails: its traceback comes back to the client as data.
def parse(record):
    key, value = record.split("=")
    return {key: int(value)}


parse("answer=42")
parse("broken")
