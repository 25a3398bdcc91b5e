//! The load balancer's listener rules (`x-ecs.load_balancer`) and HTTPS (`x-ecs.certificate`):
//! every refusal names its code, key path, line and a help; rule priorities are what the README
//! says. The testdata cases show whole outputs; these tests cover each mistake one by one.

mod common;

use compose2ecs::diagnostic::{Code, Diagnostic, Severity};
use compose2ecs::Conversion;

fn conversion(compose: &str) -> Conversion {
    common::conversion("shop", compose)
}

/// The diagnostics of `code`, each as (severity, key path, line).
fn found(conversion: &Conversion, code: Code) -> Vec<(Severity, String, usize)> {
    conversion
        .diagnostics
        .iter()
        .filter(|d| d.code == code)
        .map(|d: &Diagnostic| {
            assert!(d.help.is_some(), "{d}: no help");
            let line = d.location.as_ref().map_or(0, |l| l.line);
            (d.severity, d.path.to_string(), line)
        })
        .collect()
}

/// A service on port 80, with `x-ecs` lines (indented under the service) when given.
fn service(name: &str, container_port: u16, x_ecs: &str) -> String {
    let mut text = format!("  {name}:\n    image: nginx:1.27\n    ports:\n      - \"80:{container_port}\"\n");
    if !x_ecs.is_empty() {
        text.push_str("    x-ecs:\n");
        for line in x_ecs.lines() {
            text.push_str(&format!("      {line}\n"));
        }
    }
    text
}

#[test]
fn two_services_without_rules_on_one_port_collide() {
    let compose = format!("services:\n{}{}", service("web", 8080, ""), service("api", 3000, ""));
    let result = conversion(&compose);
    assert!(result.is_refused(false));
    assert_eq!(
        found(&result, Code::ListenerCollision),
        [(Severity::Error, "services.api.ports[0]".to_string(), 9)]
    );
}

#[test]
fn one_service_on_80_and_443_with_a_certificate_collides() {
    let compose = "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - \"80:8080\"\n      - \"443:8443\"\n\
                   x-ecs:\n  certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-123\n";
    let result = conversion(compose);
    assert_eq!(
        found(&result, Code::ListenerCollision),
        [(Severity::Error, "services.web.ports[1]".to_string(), 6)]
    );
    let message = &result
        .diagnostics
        .iter()
        .find(|d| d.code == Code::ListenerCollision)
        .unwrap()
        .message;
    assert!(
        message.contains("container ports 8080 (as 80) and 8443 (as 443)"),
        "{message}"
    );
}

#[test]
fn rules_without_a_default_are_refused() {
    let compose = format!(
        "services:\n{}{}",
        service("api", 3000, "load_balancer:\n  path: /api/*"),
        service("docs", 4000, "load_balancer:\n  host: docs.example.com"),
    );
    let result = conversion(&compose);
    assert_eq!(
        found(&result, Code::ListenerNoDefault),
        [(Severity::Error, "services.api.x-ecs.load_balancer".to_string(), 7)]
    );
}

#[test]
fn the_same_rule_twice_is_refused_hosts_in_any_case() {
    let compose = format!(
        "services:\n{}{}{}",
        service("web", 8080, ""),
        service("api", 3000, "load_balancer:\n  host: API.example.com"),
        service("api2", 3001, "load_balancer:\n  host: api.EXAMPLE.com"),
    );
    let result = conversion(&compose);
    assert_eq!(
        found(&result, Code::ListenerSameRule),
        [(Severity::Error, "services.api2.x-ecs.load_balancer".to_string(), 18)]
    );
}

#[test]
fn the_same_priority_twice_is_refused() {
    let compose = format!(
        "services:\n{}{}{}",
        service("web", 8080, ""),
        service("api", 3000, "load_balancer:\n  path: /api/*\n  priority: 7"),
        service("docs", 4000, "load_balancer:\n  path: /docs/*\n  priority: 7"),
    );
    let result = conversion(&compose);
    assert_eq!(
        found(&result, Code::ListenerSamePriority),
        [(
            Severity::Error,
            "services.docs.x-ecs.load_balancer.priority".to_string(),
            21
        )]
    );
}

#[test]
fn priorities_follow_the_file_around_explicit_ones() {
    let compose = format!(
        "services:\n{}{}{}{}",
        service("web", 8080, ""),
        service("api", 3000, "load_balancer:\n  path: /api/*"),
        service("docs", 4000, "load_balancer:\n  path: /docs/*\n  priority: 10"),
        service("admin", 9000, "load_balancer:\n  path: /admin/*"),
    );
    let result = conversion(&compose);
    let plan = result.plan.as_ref().expect("converts");
    let rules: Vec<(u32, &str)> = plan.listeners[0]
        .rules
        .iter()
        .map(|r| (r.priority, r.target.container.as_str()))
        .collect();
    assert_eq!(rules, [(10, "docs"), (20, "api"), (30, "admin")]);
    assert_eq!(plan.listeners[0].default_target.container, "web");
    let template = &result.output["cloudformation/alb.yaml"];
    for id in [
        "Listener80Rule10",
        "Listener80Rule20",
        "Listener80Rule30",
        "TargetGroupPort80Admin",
    ] {
        assert!(template.contains(&format!("  {id}:\n")), "{id} in alb.yaml");
    }
}

#[test]
fn rules_alb_would_refuse_are_refused_where_written() {
    let cases = [
        ("path: api/*", "services.api.x-ecs.load_balancer.path"),
        ("path: [/a, \"/b c\"]", "services.api.x-ecs.load_balancer.path[1]"),
        ("path: [/a, /b, /c, /d]", "services.api.x-ecs.load_balancer.path"),
        ("host: localhost", "services.api.x-ecs.load_balancer.host"),
        ("host: a_b.example.com", "services.api.x-ecs.load_balancer.host"),
        ("priority: 3", "services.api.x-ecs.load_balancer"),
        (
            "path: [/a, /b, /c]\n  host: [a.example.com, b.example.com, c.example.com]",
            "services.api.x-ecs.load_balancer",
        ),
        (
            "path: [\"/*/*\", \"/?/*\", \"/*?\"]",
            "services.api.x-ecs.load_balancer",
        ),
    ];
    for (rule, path) in cases {
        let compose = format!(
            "services:\n{}{}",
            service("web", 8080, ""),
            service("api", 3000, &format!("load_balancer:\n  {rule}")),
        );
        let result = conversion(&compose);
        let errors = found(&result, Code::BadListenerRule);
        assert_eq!(errors.len(), 1, "{rule}: {errors:?}");
        assert_eq!((errors[0].0, errors[0].1.as_str()), (Severity::Error, path), "{rule}");
        assert!(errors[0].2 >= 11, "{rule}: located in the file, {errors:?}");
    }
    let compose = format!(
        "services:\n{}{}",
        service("web", 8080, ""),
        service("api", 3000, "load_balancer:\n  path: /api/*\n  priority: 50001"),
    );
    assert_eq!(
        found(&conversion(&compose), Code::BadSetting),
        [(
            Severity::Error,
            "services.api.x-ecs.load_balancer.priority".to_string(),
            13
        )]
    );
}

#[test]
fn a_certificate_must_be_an_acm_arn() {
    let compose = format!(
        "services:\n{}x-ecs:\n  certificate: arn:aws:iam::123456789012:server-certificate/site\n",
        service("web", 8080, "")
    );
    let result = conversion(&compose);
    assert_eq!(
        found(&result, Code::BadCertificate),
        [(Severity::Error, "x-ecs.certificate".to_string(), 7)]
    );
}

#[test]
fn settings_with_nothing_to_act_on_warn() {
    let compose =
        "services:\n  worker:\n    image: busybox:1.37\n    x-ecs:\n      load_balancer:\n        path: /jobs/*\n  \
                   api:\n    image: nginx:1.27\n    ports:\n      - \"8080:8080\"\n\
                   x-ecs:\n  certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-123\n";
    let result = conversion(compose);
    assert!(!result.is_refused(false));
    assert_eq!(
        found(&result, Code::UnusedSetting),
        [
            (Severity::Warning, "services.worker.x-ecs.load_balancer".to_string(), 5),
            (Severity::Warning, "x-ecs.certificate".to_string(), 12),
        ]
    );
    let plan = result.plan.expect("converts");
    assert!(plan.https.is_none());
    assert_eq!(plan.listeners[0].protocol, "HTTP");
}

#[test]
fn port_443_warns_only_without_a_certificate() {
    let web = "services:\n  web:\n    image: nginx:1.27\n    ports:\n      - \"443:8080\"\n";
    let plain = conversion(web);
    assert_eq!(
        found(&plain, Code::NoCertificate),
        [(Severity::Warning, "services.web.ports[0]".to_string(), 5)]
    );
    let secure = conversion(&format!(
        "{web}x-ecs:\n  certificate: arn:aws:acm:us-east-1:123456789012:certificate/abc-123\n"
    ));
    assert!(found(&secure, Code::NoCertificate).is_empty());
    let template = &secure.output["cloudformation/alb.yaml"];
    assert!(template.contains("      Protocol: HTTPS\n      SslPolicy: \"ELBSecurityPolicy-TLS13-1-2-Res-2021-06\"\n"));
    assert!(template.contains("            Port: \"443\"\n            StatusCode: HTTP_301\n"));
    assert!(!template.contains("id: CKV_AWS_2\n"), "no listener stays plain HTTP");
}

#[test]
fn a_task_behind_more_than_five_target_groups_is_refused() {
    let ports: String = (0..6)
        .map(|i| format!("      - \"{}:{}\"\n", 8080 + i, 3000 + i))
        .collect();
    let compose = format!("services:\n  web:\n    image: nginx:1.27\n    ports:\n{ports}");
    assert_eq!(
        found(&conversion(&compose), Code::TooManyTargetGroups),
        [(Severity::Error, "services.web.ports[5]".to_string(), 10)]
    );
    let five: String = ports.lines().take(5).map(|l| format!("{l}\n")).collect();
    let fewer = conversion(&format!("services:\n  web:\n    image: nginx:1.27\n    ports:\n{five}"));
    assert!(!fewer.is_refused(false));
}

/// A load balancer over an account's default quotas warns; over CloudFormation's limits on one
/// stack, nothing is written.
#[test]
fn quotas_warn_and_stack_limits_refuse() {
    let published = |count: u16| {
        let services: String = (0..count)
            .map(|i| format!("  s{i}:\n    image: nginx:1.27\n    ports: [\"{}:80\"]\n", 10_000 + i))
            .collect();
        format!("services:\n{services}")
    };
    let busy = conversion(&published(55));
    assert_eq!(found(&busy, Code::LoadBalancerQuota).len(), 1);
    assert!(busy.plan.is_some());
    let routed = |count: usize| {
        let mut compose = String::from("services:\n  default:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n");
        for i in 0..count {
            compose.push_str(&format!(
                "  s{i}:\n    image: nginx:1.27\n    ports: [\"80:80\"]\n    x-ecs:\n      load_balancer: {{path: \"/s{i}/*\"}}\n"
            ));
        }
        compose
    };
    let huge = conversion(&routed(210));
    assert_eq!(found(&huge, Code::StackTooLarge).len(), 1);
    assert!(found(&huge, Code::TooManyTargetGroups).is_empty());
    assert!(huge.plan.is_none() && huge.output.is_empty());
}

/// `x-ecs.cluster` given as an ARN is its name wherever one is needed: Application Auto Scaling's
/// `service/CLUSTER/SERVICE` takes no ARN.
#[test]
fn a_cluster_arn_gives_its_name() {
    let result = conversion(
        "services:\n  web:\n    image: nginx:1.27\n    x-ecs:\n      autoscaling: {max: 4, cpu: 70}\n\
         x-ecs:\n  cluster: arn:aws:ecs:us-east-1:123456789012:cluster/prod\n",
    );
    let template = &result.output["cloudformation/autoscaling.yaml"];
    assert!(template.contains("service/prod/shop-web"), "{template}");
    let service = &result.output["services/web.json"];
    assert!(service.contains("\"cluster\": \"prod\""), "{service}");
}
