"""This deployment's configuration (dashboard.toml, the environment, the command line): the data, the engine, the
disclosure threshold and method, who may sign in. Read by the CLI and the dashboard alike, so it sits below both."""
