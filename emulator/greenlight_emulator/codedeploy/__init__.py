"""CodeDeploy beyond moto: ECS blue/green deployments that progress over time (engine.py),
the predefined deployment configurations (configs.py) and the API calls (api.py)."""
