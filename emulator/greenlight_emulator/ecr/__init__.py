"""ECR beyond moto: image scans that behave like AWS's, image indexes and paging."""
