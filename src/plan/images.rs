//! Images: which services `deploy` builds and pushes before it registers their task definitions
//! — those with `build:` whose image is in a registry — and where each goes.

use super::{DeployValue, TaskGroup};
use crate::normalise::Project;
use serde::Serialize;

/// An image `deploy` builds with `docker compose build`, tags and pushes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImageBuild {
    pub service: String,
    /// What compose names the image it builds: the service's `image`, else `PROJECT-SERVICE`.
    pub built_as: String,
    /// Where it is pushed: the image the task runs.
    pub image: String,
    /// The registry's host, which `docker login` signs in to.
    pub registry: String,
    /// For an ECR registry: its region and the repository, which deploy creates when missing.
    pub ecr: Option<EcrRepository>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EcrRepository {
    pub region: String,
    pub repository: String,
    /// The tag pushed.
    pub tag: String,
}

/// The images of the services with `build:` that the tasks run from a registry. A built image
/// named without a registry (`image: app`) is left out: there is nowhere to push it.
pub(super) fn builds(project: &Project, tasks: &[TaskGroup]) -> Vec<ImageBuild> {
    let mut builds = Vec::new();
    for container in tasks.iter().flat_map(|task| &task.containers) {
        let Some(service) = project.service(&container.service) else {
            continue;
        };
        let (Some(_), DeployValue::Known(image)) = (&service.build_context, &container.image) else {
            continue;
        };
        let Some((registry, path)) = image.split_once('/').filter(|(host, _)| is_registry_host(host)) else {
            continue;
        };
        let (repository, tag) = split_tag(path);
        builds.push(ImageBuild {
            service: service.name.clone(),
            built_as: service
                .image
                .clone()
                .unwrap_or_else(|| format!("{}-{}", project.name, service.name.to_ascii_lowercase())),
            image: image.clone(),
            registry: registry.to_string(),
            ecr: ecr_region(registry).map(|region| EcrRepository {
                region,
                repository: repository.to_string(),
                tag: tag.to_string(),
            }),
        });
    }
    builds
}

/// Whether the first part of an image name is a registry, as docker reads it: a host with a
/// dot or a port, or `localhost`.
fn is_registry_host(part: &str) -> bool {
    part.contains('.') || part.contains(':') || part == "localhost"
}

/// `repository:tag` → (repository, tag); `latest` when there is no tag.
fn split_tag(path: &str) -> (&str, &str) {
    match path.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => (repository, tag),
        _ => (path, "latest"),
    }
}

/// The region of an ECR registry host (`123456789012.dkr.ecr.eu-west-1.amazonaws.com`).
fn ecr_region(host: &str) -> Option<String> {
    let rest = host.split_once(".dkr.ecr.")?.1;
    let region = rest
        .strip_suffix(".amazonaws.com")
        .or_else(|| rest.strip_suffix(".amazonaws.com.cn"))?;
    (!region.is_empty() && !region.contains('.')).then(|| region.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_images_in_a_registry_are_pushed_there() {
        let conversion = crate::test_conversion(
            "x-ecs: {registry: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop, image_tag: v2}\nservices:\n  web: {build: ./web}\n  api: {build: ./api, image: 'ghcr.io/me/api:1.0'}\n  local: {build: ./local, image: local-only}\n  cache: {image: redis}\n",
        );
        let plan = conversion.plan.expect("a plan");
        let mut builds = plan.builds.clone();
        builds.sort_by(|a, b| a.service.cmp(&b.service));
        assert_eq!(
            builds,
            [
                ImageBuild {
                    service: "api".into(),
                    built_as: "ghcr.io/me/api:1.0".into(),
                    image: "ghcr.io/me/api:1.0".into(),
                    registry: "ghcr.io".into(),
                    ecr: None,
                },
                ImageBuild {
                    service: "web".into(),
                    built_as: "app-web".into(),
                    image: "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/app-web:v2".into(),
                    registry: "123456789012.dkr.ecr.eu-west-1.amazonaws.com".into(),
                    ecr: Some(EcrRepository {
                        region: "eu-west-1".into(),
                        repository: "shop/app-web".into(),
                        tag: "v2".into(),
                    }),
                },
            ]
        );
        assert_eq!(split_tag("me/api:1.0"), ("me/api", "1.0"));
        assert_eq!(split_tag("app"), ("app", "latest"));
        assert_eq!(ecr_region("ghcr.io"), None);
    }
}
