"""ECS beyond moto: task sets for services with the CODE_DEPLOY deployment controller and
deployments that progress for services with the ECS deployment controller."""
