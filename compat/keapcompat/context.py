"""What the runner set up for the tests: the server under test and the apps each client uses."""

server = None  # server.Keapsake, running
apps = {}  # client library name -> server.App
