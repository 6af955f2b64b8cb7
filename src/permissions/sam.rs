//! The CloudFormation resources an application's stack holds once the SAM transform
//! (aws-sam-translator 1.115.0, the version `.ci/install-tools` pins) has expanded its
//! template: what the pipeline's CloudFormation execution role must be allowed to create.
//!
//! This follows the translator's own code (`samtranslator/model/sam_resources.py`,
//! `model/eventsources/*`, `model/api/*`, `model/stepfunctions/*`); `tests/sam_expansion.rs`
//! runs the real translator over every bundled template and compares.

use std::collections::HashSet;

use crate::app::resources::{
    ApiRef, ApiSpec, Connector, DeadLetter, Endpoint, Event, EventSource, FunctionSpec,
    GraphQLApiSpec, RoleSource, SnsSqs, StateMachineSpec, Text, UsagePlan,
};
use crate::app::{Resource, SamApp, SamSpec};

/// Ends a [`DeployedResource::logical_id`] where SAM appends a hash of content sampipe does
/// not compute (a version's code, a deployment's API definition, a domain name...):
/// `HelloWorldFunctionVersion{hash}`.
pub const HASH: &str = "{hash}";

/// One resource of the deployed stack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeployedResource {
    /// The logical id as SAM names it, e.g. `HelloWorldFunctionRole`, `ServerlessRestApi`;
    /// ends in [`HASH`] where SAM appends a hash.
    pub logical_id: String,
    /// The CloudFormation type, e.g. `AWS::IAM::Role`.
    pub type_name: String,
    /// Where it comes from, in words: "implicit role of HelloWorldFunction".
    pub from: String,
    /// An IAM role SAM generates where SAM offers no `PermissionsBoundary` property for it
    /// (e.g. `CodeDeployServiceRole`), so a boundary the pipeline requires cannot be set.
    pub creates_role_without_boundary_support: bool,
}

impl DeployedResource {
    /// The part of the logical id before SAM's hash, when it has one.
    pub fn hashed_prefix(&self) -> Option<&str> {
        self.logical_id.strip_suffix(HASH)
    }
}

/// Every resource the stack of `app` holds after the SAM transform, in template order (the
/// implicit APIs and CodeDeploy resources last). A SAM type sampipe does not model is returned
/// with its own type.
pub fn deployed_resources(app: &SamApp) -> Vec<DeployedResource> {
    let mut out = Expansion::default();
    for resource in &app.resources {
        out.resource(app, resource);
        for connector in &resource.connectors {
            out.connector(
                app,
                connector,
                &format!("connector embedded in {}", resource.logical_id),
            );
        }
    }
    if out.implicit_rest_api {
        out.rest_api(
            "ServerlessRestApi",
            &app.implicit_rest_api,
            "implicit REST API of the Api events",
        );
    }
    if out.implicit_http_api {
        out.http_api(
            "ServerlessHttpApi",
            &app.implicit_http_api,
            "implicit HTTP API of the HttpApi events",
        );
    }
    if !out.deployment_groups.is_empty() {
        let functions = out.deployment_groups.join(", ");
        out.push(
            "ServerlessDeploymentApplication",
            "AWS::CodeDeploy::Application",
            format!("CodeDeploy application for the DeploymentPreference of {functions}"),
        );
        if out.codedeploy_service_role {
            out.push_role(
                "CodeDeployServiceRole",
                format!("CodeDeploy service role for the DeploymentPreference of {functions}"),
                true,
            );
        }
    }
    out.resources
}

#[derive(Default)]
struct Expansion {
    resources: Vec<DeployedResource>,
    /// Ids already pushed (SAM writes each once: a second `Permission` for the same id, or a
    /// shared record set group, is the same resource).
    seen: HashSet<String>,
    implicit_rest_api: bool,
    implicit_http_api: bool,
    /// Functions with an enabled `DeploymentPreference`.
    deployment_groups: Vec<String>,
    /// One of them without `DeploymentPreference.Role`.
    codedeploy_service_role: bool,
}

impl Expansion {
    fn push(&mut self, logical_id: impl Into<String>, type_name: &str, from: impl Into<String>) {
        self.push_keyed(logical_id.into(), None, type_name, from.into(), false);
    }

    fn push_role(
        &mut self,
        logical_id: impl Into<String>,
        from: impl Into<String>,
        no_boundary: bool,
    ) {
        self.push_keyed(
            logical_id.into(),
            None,
            "AWS::IAM::Role",
            from.into(),
            no_boundary,
        );
    }

    /// `key` dedupes resources whose id is hashed (`None`: the id itself; hashed ids without a
    /// key are never merged).
    fn push_keyed(
        &mut self,
        logical_id: String,
        key: Option<String>,
        type_name: &str,
        from: String,
        no_boundary: bool,
    ) {
        let key = key.or_else(|| (!logical_id.ends_with(HASH)).then(|| logical_id.clone()));
        if let Some(key) = key {
            if !self.seen.insert(key) {
                return;
            }
        }
        self.resources.push(DeployedResource {
            logical_id,
            type_name: type_name.to_owned(),
            from,
            creates_role_without_boundary_support: no_boundary,
        });
    }

    fn resource(&mut self, app: &SamApp, resource: &Resource) {
        let id = resource.logical_id.as_str();
        match &resource.sam {
            SamSpec::Plain => self.push(id, &resource.type_name, "declared in the template"),
            SamSpec::Function(function) => self.function(app, id, function),
            SamSpec::Api(api) => self.rest_api(id, api, &format!("{id} (AWS::Serverless::Api)")),
            SamSpec::HttpApi(api) => {
                self.http_api(id, api, &format!("{id} (AWS::Serverless::HttpApi)"))
            }
            SamSpec::StateMachine(machine) => self.state_machine(id, machine),
            SamSpec::SimpleTable => self.push(
                id,
                "AWS::DynamoDB::Table",
                format!("{id} (AWS::Serverless::SimpleTable)"),
            ),
            SamSpec::LayerVersion => self.push(
                format!("{id}{HASH}"),
                "AWS::Lambda::LayerVersion",
                format!("{id} (AWS::Serverless::LayerVersion)"),
            ),
            SamSpec::Application => self.push(
                id,
                "AWS::CloudFormation::Stack",
                format!("nested stack of {id} (AWS::Serverless::Application)"),
            ),
            SamSpec::Connector(connector) => self.connector(
                app,
                connector,
                &format!("{id} (AWS::Serverless::Connector)"),
            ),
            SamSpec::GraphQLApi(api) => self.graphql_api(id, api),
            SamSpec::Unmodeled => self.push(
                id,
                &resource.type_name,
                if resource.type_name == "Fn::ForEach" {
                    "an AWS::LanguageExtensions loop sampipe does not expand"
                } else {
                    "a SAM resource type sampipe does not expand"
                },
            ),
        }
    }

    fn function(&mut self, app: &SamApp, id: &str, function: &FunctionSpec) {
        self.push(
            id,
            "AWS::Lambda::Function",
            format!("{id} (AWS::Serverless::Function)"),
        );
        if let Some(alias) = &function.auto_publish_alias {
            self.push(
                format!("{id}Version{HASH}"),
                "AWS::Lambda::Version",
                format!("version of {id} (AutoPublishAlias)"),
            );
            // SAM spells `-` and `_` of the alias name as `D` and `U` in the id.
            let name = match alias {
                Text::Literal(name) => name.replace('-', "D").replace('_', "U"),
                Text::Dynamic => HASH.to_owned(),
            };
            let provisioned = if function.provisioned_concurrency {
                ", with its ProvisionedConcurrencyConfig"
            } else {
                ""
            };
            self.push(
                format!("{id}Alias{name}"),
                "AWS::Lambda::Alias",
                format!("alias of {id} (AutoPublishAlias{provisioned})"),
            );
        }
        if let Some(url) = &function.function_url {
            self.push(
                format!("{id}Url"),
                "AWS::Lambda::Url",
                format!("function URL of {id}"),
            );
            if url.public {
                self.push(
                    format!("{id}UrlPublicPermissions"),
                    "AWS::Lambda::Permission",
                    format!("public invoke permission of {id}'s function URL (AuthType NONE)"),
                );
                self.push(
                    format!("{id}URLInvokeAllowPublicAccess"),
                    "AWS::Lambda::Permission",
                    format!("public invoke permission of {id}'s function URL (AuthType NONE)"),
                );
            }
        }
        if let Some(preference) = function
            .deployment_preference
            .as_ref()
            .filter(|p| p.enabled)
        {
            self.push(
                format!("{id}DeploymentGroup"),
                "AWS::CodeDeploy::DeploymentGroup",
                format!("CodeDeploy deployment group of {id} (DeploymentPreference)"),
            );
            self.deployment_groups.push(id.to_owned());
            self.codedeploy_service_role |= !preference.role_given;
        }
        if let Some(invoke) = &function.event_invoke {
            self.push(
                format!("{id}EventInvokeConfig"),
                "AWS::Lambda::EventInvokeConfig",
                format!("EventInvokeConfig of {id}"),
            );
            for (when, destination) in [
                ("OnSuccess", &invoke.on_success),
                ("OnFailure", &invoke.on_failure),
            ] {
                let Some(destination) = destination.as_ref().filter(|d| d.creates_destination)
                else {
                    continue;
                };
                let (suffix, type_name) = match destination.type_name.as_deref() {
                    Some("SQS") => ("Queue", "AWS::SQS::Queue"),
                    _ => ("Topic", "AWS::SNS::Topic"),
                };
                self.push(
                    format!("{id}EventInvokeConfig{when}{suffix}"),
                    type_name,
                    format!("{when} destination SAM creates for {id}'s EventInvokeConfig"),
                );
            }
        }
        if function.role != RoleSource::Given {
            self.push_role(format!("{id}Role"), format!("implicit role of {id}"), false);
        }
        for event in &function.events {
            self.function_event(app, id, event);
        }
    }

    fn function_event(&mut self, app: &SamApp, function: &str, event: &Event) {
        let eid = format!("{function}{}", event.id);
        let what = format!("{function}'s {} event {}", event.type_name, event.id);
        let permission = |this: &mut Self, id: String| {
            this.push(
                id,
                "AWS::Lambda::Permission",
                format!("invoke permission for {what}"),
            );
        };
        match &event.source {
            EventSource::Api { api } => {
                let suffix = match api {
                    ApiRef::Implicit => {
                        self.implicit_rest_api = true;
                        "Prod".to_owned()
                    }
                    // The permission is named after the explicit API's stage (SAM reads its
                    // `StageName`; an intrinsic one gives `Stage`).
                    ApiRef::Resource(api_id) => match explicit_stage(app, api_id) {
                        Some(stage) if is_alphanumeric(&stage) => stage,
                        Some(_) => HASH.to_owned(),
                        None => "Stage".to_owned(),
                    },
                    ApiRef::External => "AllStages".to_owned(),
                };
                permission(self, format!("{eid}Permission{suffix}"));
            }
            EventSource::HttpApi { api } => {
                if *api == ApiRef::Implicit {
                    self.implicit_http_api = true;
                }
                permission(self, format!("{eid}Permission"));
            }
            EventSource::Pull => self.push(
                eid,
                "AWS::Lambda::EventSourceMapping",
                format!("event source mapping of {what}"),
            ),
            EventSource::Sns { sqs } => {
                match sqs {
                    SnsSqs::None => permission(self, format!("{eid}Permission")),
                    SnsSqs::NewQueue => {
                        self.push(
                            format!("{eid}Queue"),
                            "AWS::SQS::Queue",
                            format!("queue SAM puts between the topic and the function for {what}"),
                        );
                        self.push(
                            format!("{eid}QueuePolicy"),
                            "AWS::SQS::QueuePolicy",
                            format!("queue policy for {what}"),
                        );
                        self.push(
                            format!("{eid}EventSourceMapping"),
                            "AWS::Lambda::EventSourceMapping",
                            format!("event source mapping of {what}"),
                        );
                    }
                    SnsSqs::ExistingQueue { policy_logical_id } => {
                        self.push(
                            policy_logical_id
                                .clone()
                                .unwrap_or_else(|| format!("{eid}QueuePolicy")),
                            "AWS::SQS::QueuePolicy",
                            format!("queue policy for {what}"),
                        );
                        self.push(
                            format!("{eid}EventSourceMapping"),
                            "AWS::Lambda::EventSourceMapping",
                            format!("event source mapping of {what}"),
                        );
                    }
                }
                self.push(
                    eid,
                    "AWS::SNS::Subscription",
                    format!("subscription of {what}"),
                );
            }
            // The bucket is the template's own (SAM adds the notification to it).
            EventSource::S3 => permission(self, format!("{eid}Permission")),
            EventSource::Rule { dead_letter, .. } => {
                self.push(
                    eid.clone(),
                    "AWS::Events::Rule",
                    format!("EventBridge rule of {what}"),
                );
                permission(self, format!("{eid}Permission"));
                self.rule_dead_letter(&eid, dead_letter, &what);
            }
            EventSource::ScheduleV2 {
                dead_letter,
                role_given,
            } => self.schedule_v2(&eid, dead_letter, *role_given, &what),
            EventSource::CloudWatchLogs => {
                permission(self, format!("{eid}Permission"));
                self.push(
                    eid,
                    "AWS::Logs::SubscriptionFilter",
                    format!("log subscription filter of {what}"),
                );
            }
            EventSource::IoTRule => {
                permission(self, format!("{eid}Permission"));
                self.push(eid, "AWS::IoT::TopicRule", format!("IoT rule of {what}"));
            }
            EventSource::AlexaSkill => permission(self, format!("{eid}Permission")),
            // One permission per function, however many Cognito events it has.
            EventSource::Cognito => permission(self, format!("{function}CognitoPermission")),
        }
    }

    /// A `DeadLetterConfig` of an EventBridge rule: SAM creates the queue and its policy.
    fn rule_dead_letter(&mut self, eid: &str, dead_letter: &DeadLetter, what: &str) {
        if let DeadLetter::Queue { logical_id } = dead_letter {
            self.push(
                logical_id.clone().unwrap_or_else(|| format!("{eid}Queue")),
                "AWS::SQS::Queue",
                format!("dead-letter queue of {what}"),
            );
            self.push(
                format!("{eid}QueuePolicy"),
                "AWS::SQS::QueuePolicy",
                format!("dead-letter queue policy of {what}"),
            );
        }
    }

    fn schedule_v2(&mut self, eid: &str, dead_letter: &DeadLetter, role_given: bool, what: &str) {
        self.push(
            eid,
            "AWS::Scheduler::Schedule",
            format!("EventBridge Scheduler schedule of {what}"),
        );
        // Scheduler needs no queue policy: the schedule's role may send to the queue.
        if let DeadLetter::Queue { logical_id } = dead_letter {
            self.push(
                logical_id.clone().unwrap_or_else(|| format!("{eid}Queue")),
                "AWS::SQS::Queue",
                format!("dead-letter queue of {what}"),
            );
        }
        if !role_given {
            // The event's own `PermissionsBoundary` applies to this role.
            self.push_role(format!("{eid}Role"), format!("role of {what}"), false);
        }
    }

    fn state_machine(&mut self, id: &str, machine: &StateMachineSpec) {
        self.push(
            id,
            "AWS::StepFunctions::StateMachine",
            format!("{id} (AWS::Serverless::StateMachine)"),
        );
        if machine.role == RoleSource::Generated {
            self.push_role(format!("{id}Role"), format!("implicit role of {id}"), false);
        }
        if let Some(alias) = &machine.auto_publish_alias {
            self.push(
                format!("{id}Version"),
                "AWS::StepFunctions::StateMachineVersion",
                format!("version of {id} (AutoPublishAlias)"),
            );
            let name = alias.literal().unwrap_or(HASH);
            self.push(
                format!("{id}Alias{name}"),
                "AWS::StepFunctions::StateMachineAlias",
                format!("alias of {id} (AutoPublishAlias)"),
            );
        }
        for event in &machine.events {
            let eid = format!("{id}{}", event.id);
            let what = format!("{id}'s {} event {}", event.type_name, event.id);
            // The state machine's `PermissionsBoundary` applies to its event roles.
            match &event.source {
                EventSource::Rule {
                    dead_letter,
                    role_given,
                } => {
                    self.push(
                        eid.clone(),
                        "AWS::Events::Rule",
                        format!("EventBridge rule of {what}"),
                    );
                    if !role_given {
                        self.push_role(format!("{eid}Role"), format!("role of {what}"), false);
                    }
                    self.rule_dead_letter(&eid, dead_letter, &what);
                }
                EventSource::Api { api } => {
                    if *api == ApiRef::Implicit {
                        self.implicit_rest_api = true;
                    }
                    self.push_role(format!("{eid}Role"), format!("role of {what}"), false);
                }
                EventSource::ScheduleV2 {
                    dead_letter,
                    role_given,
                } => self.schedule_v2(&eid, dead_letter, *role_given, &what),
                // `resources` refuses other event types for state machines.
                _ => {}
            }
        }
    }

    fn rest_api(&mut self, id: &str, api: &ApiSpec, from: &str) {
        self.push(id, "AWS::ApiGateway::RestApi", from);
        self.push(
            format!("{id}Deployment{HASH}"),
            "AWS::ApiGateway::Deployment",
            format!("deployment of {id}"),
        );
        let stage = match &api.stage_name {
            Some(Text::Literal(name)) if is_alphanumeric(name) => format!("{id}{name}Stage"),
            Some(Text::Literal(_)) => format!("{id}Stage{HASH}"),
            _ => format!("{id}Stage"),
        };
        self.push(stage, "AWS::ApiGateway::Stage", format!("stage of {id}"));
        self.authorizer_permissions(id, api);
        if let Some(domain) = &api.domain {
            let (domain_type, mapping_type, domain_prefix) = if domain.private {
                (
                    "AWS::ApiGateway::DomainNameV2",
                    "AWS::ApiGateway::BasePathMappingV2",
                    "ApiGatewayDomainNameV2",
                )
            } else {
                (
                    "AWS::ApiGateway::DomainName",
                    "AWS::ApiGateway::BasePathMapping",
                    "ApiGatewayDomainName",
                )
            };
            self.push(
                format!("{domain_prefix}{HASH}"),
                domain_type,
                format!("custom domain of {id}"),
            );
            // REST base paths keep only their letters and digits in the id.
            match &domain.base_paths {
                None => self.push(
                    format!("{id}BasePathMapping"),
                    mapping_type,
                    format!("base path mapping of {id}"),
                ),
                Some(paths) => {
                    for path in paths {
                        let path: String = path.chars().filter(|c| c.is_alphanumeric()).collect();
                        self.push(
                            format!("{id}{path}BasePathMapping"),
                            mapping_type,
                            format!("base path mapping of {id}"),
                        );
                    }
                }
            }
            if domain.private && domain.access_association {
                self.push(
                    format!("DomainNameAccessAssociation{HASH}"),
                    "AWS::ApiGateway::DomainNameAccessAssociation",
                    format!("access association of {id}'s private domain"),
                );
            }
            if let Some(route53) = &domain.route53 {
                let key = (!route53.separate).then(|| format!("route53:{}", route53.zone));
                self.push_keyed(
                    format!("RecordSetGroup{HASH}"),
                    key,
                    "AWS::Route53::RecordSetGroup",
                    format!("DNS records of {id}'s custom domain"),
                    false,
                );
            }
        }
        match api.usage_plan {
            Some(UsagePlan::PerApi) => {
                self.push(
                    format!("{id}UsagePlan"),
                    "AWS::ApiGateway::UsagePlan",
                    format!("usage plan of {id}"),
                );
                self.push(
                    format!("{id}ApiKey"),
                    "AWS::ApiGateway::ApiKey",
                    format!("API key of {id}"),
                );
                self.push(
                    format!("{id}UsagePlanKey"),
                    "AWS::ApiGateway::UsagePlanKey",
                    format!("usage plan key of {id}"),
                );
            }
            Some(UsagePlan::Shared) => {
                let from = "usage plan shared by the APIs with CreateUsagePlan: SHARED";
                self.push("ServerlessUsagePlan", "AWS::ApiGateway::UsagePlan", from);
                self.push("ServerlessApiKey", "AWS::ApiGateway::ApiKey", from);
                self.push(
                    "ServerlessUsagePlanKey",
                    "AWS::ApiGateway::UsagePlanKey",
                    from,
                );
            }
            None => {}
        }
    }

    fn http_api(&mut self, id: &str, api: &ApiSpec, from: &str) {
        self.push(id, "AWS::ApiGatewayV2::Api", from);
        let stage = match &api.stage_name {
            None => format!("{id}ApiGatewayDefaultStage"),
            Some(Text::Literal(name)) if name == "$default" => {
                format!("{id}ApiGatewayDefaultStage")
            }
            Some(Text::Literal(name)) if is_alphanumeric(name) => format!("{id}{name}Stage"),
            Some(Text::Literal(_)) => format!("{id}Stage{HASH}"),
            Some(Text::Dynamic) => format!("{id}Stage"),
        };
        self.push(stage, "AWS::ApiGatewayV2::Stage", format!("stage of {id}"));
        self.authorizer_permissions(id, api);
        if let Some(domain) = &api.domain {
            self.push(
                format!("ApiGatewayDomainNameV2{HASH}"),
                "AWS::ApiGatewayV2::DomainName",
                format!("custom domain of {id}"),
            );
            match &domain.base_paths {
                None => self.push(
                    format!("{id}ApiMapping"),
                    "AWS::ApiGatewayV2::ApiMapping",
                    format!("API mapping of {id}"),
                ),
                Some(paths) => {
                    for path in paths {
                        // HTTP base paths drop `-`, `_` and `/` in the id.
                        let path: String = path
                            .chars()
                            .filter(|c| !matches!(c, '-' | '_' | '/'))
                            .collect();
                        self.push(
                            format!("{id}{path}ApiMapping"),
                            "AWS::ApiGatewayV2::ApiMapping",
                            format!("API mapping of {id}"),
                        );
                    }
                }
            }
            if let Some(route53) = &domain.route53 {
                self.push_keyed(
                    format!("RecordSetGroup{HASH}"),
                    Some(format!("route53:{}", route53.zone)),
                    "AWS::Route53::RecordSetGroup",
                    format!("DNS records of {id}'s custom domain"),
                    false,
                );
            }
        }
    }

    fn authorizer_permissions(&mut self, id: &str, api: &ApiSpec) {
        for authorizer in api.authorizers.iter().filter(|a| a.permission) {
            self.push(
                format!("{id}{}AuthorizerPermission", authorizer.name),
                "AWS::Lambda::Permission",
                format!(
                    "permission for {id} to call its Lambda authorizer {}",
                    authorizer.name
                ),
            );
        }
    }

    fn connector(&mut self, app: &SamApp, connector: &Connector, from: &str) {
        let id = connector.logical_id.as_str();
        let source = endpoint_type(app, &connector.source);
        for (index, destination) in connector.destinations.iter().enumerate() {
            let destination = endpoint_type(app, destination);
            let suffix = if connector.multiple {
                format!("Destination{index}")
            } else {
                String::new()
            };
            let profile = match (&source, &destination) {
                (Some(s), Some(d)) => connector_profile(s, d),
                _ => None,
            };
            match profile {
                Some(Profile::ManagedPolicy) => self.push(
                    format!("{id}Policy{suffix}"),
                    "AWS::IAM::ManagedPolicy",
                    format!("policy of {from}"),
                ),
                Some(Profile::QueuePolicy) => self.push(
                    format!("{id}QueuePolicy{suffix}"),
                    "AWS::SQS::QueuePolicy",
                    format!("queue policy of {from}"),
                ),
                Some(Profile::TopicPolicy) => self.push(
                    format!("{id}TopicPolicy{suffix}"),
                    "AWS::SNS::TopicPolicy",
                    format!("topic policy of {from}"),
                ),
                Some(Profile::LambdaPermission) => {
                    // Lambda permission profiles have one access category, `Write`.
                    for permission in connector.permissions.iter().filter(|p| *p == "Write") {
                        self.push(
                            format!("{id}{permission}LambdaPermission{suffix}"),
                            "AWS::Lambda::Permission",
                            format!("invoke permission of {from}"),
                        );
                    }
                }
                // SAM refuses the connector; the integrator's table refuses the type.
                None => self.push(
                    id,
                    "AWS::Serverless::Connector",
                    format!("{from}: a source and destination SAM has no connector profile for"),
                ),
            }
        }
    }

    fn graphql_api(&mut self, id: &str, api: &GraphQLApiSpec) {
        let what = format!("{id} (AWS::Serverless::GraphQLApi)");
        self.push(id, "AWS::AppSync::GraphQLApi", what.clone());
        self.push(
            format!("{id}Schema"),
            "AWS::AppSync::GraphQLSchema",
            format!("schema of {what}"),
        );
        for n in 1..=api.lambda_authorizers {
            self.push(
                format!("{id}ToLambdaAuthConnector{n}WriteLambdaPermission"),
                "AWS::Lambda::Permission",
                format!("permission for {id} to call its Lambda authorizer"),
            );
        }
        // SAM offers no PermissionsBoundary on GraphQLApi: its roles cannot get one.
        if api.logging_role {
            self.push_role(
                format!("{id}CloudWatchRole"),
                format!("logging role of {what}"),
                true,
            );
        }
        for key in &api.api_keys {
            self.push(
                format!("{id}{key}"),
                "AWS::AppSync::ApiKey",
                format!("API key of {what}"),
            );
        }
        if api.cache {
            self.push(
                format!("{id}ApiCache"),
                "AWS::AppSync::ApiCache",
                format!("cache of {what}"),
            );
        }
        for (sources, kind, connector) in [
            (&api.dynamodb_sources, "DynamoDB", "ToTableConnector"),
            (&api.lambda_sources, "Lambda", "ToLambdaConnector"),
        ] {
            for source in sources {
                let source_id = format!("{id}{}{kind}DataSource", source.id);
                self.push(
                    source_id.clone(),
                    "AWS::AppSync::DataSource",
                    format!("{kind} data source {} of {what}", source.id),
                );
                if !source.role_given {
                    self.push_role(
                        format!("{source_id}Role"),
                        format!("role of {what}'s data source {}", source.id),
                        true,
                    );
                    self.push(
                        format!("{source_id}{connector}Policy"),
                        "AWS::IAM::ManagedPolicy",
                        format!("policy of {what}'s data source {}", source.id),
                    );
                }
            }
        }
        if api.domain_name {
            self.push(
                format!("{id}DomainName"),
                "AWS::AppSync::DomainName",
                format!("domain of {what}"),
            );
            self.push(
                format!("{id}DomainNameApiAssociation"),
                "AWS::AppSync::DomainNameApiAssociation",
                format!("domain association of {what}"),
            );
        }
        for function in api.functions.iter().filter(|f| !f.existing) {
            self.push(
                format!("{id}{}", function.id),
                "AWS::AppSync::FunctionConfiguration",
                format!("function {} of {what}", function.id),
            );
        }
        for (type_name, resolver) in &api.resolvers {
            self.push(
                format!("{id}{type_name}{resolver}"),
                "AWS::AppSync::Resolver",
                format!("resolver {type_name}.{resolver} of {what}"),
            );
        }
        if api
            .functions
            .iter()
            .any(|f| !f.existing && f.none_data_source)
        {
            self.push(
                format!("{id}NoneDataSource"),
                "AWS::AppSync::DataSource",
                format!("NONE data source of {what}"),
            );
        }
    }
}

/// Python's `str.isalnum` on a stage name: SAM uses it as is in an id only then.
fn is_alphanumeric(name: &str) -> bool {
    !name.is_empty() && name.chars().all(char::is_alphanumeric)
}

/// The literal `StageName` of the API resource `api_id` of the template, as SAM reads it to
/// name an `Api` event's permission (`None`: absent or not literal).
fn explicit_stage(app: &SamApp, api_id: &str) -> Option<String> {
    let resource = app.resources.iter().find(|r| r.logical_id == api_id)?;
    match &resource.sam {
        SamSpec::Api(api) => api.stage_name.as_ref()?.literal().map(str::to_owned),
        _ => None,
    }
}

/// The CloudFormation type a connector endpoint has once the template is transformed.
fn endpoint_type(app: &SamApp, endpoint: &Endpoint) -> Option<String> {
    let type_name = match endpoint {
        Endpoint::Id(id) => app
            .resources
            .iter()
            .find(|r| &r.logical_id == id)?
            .type_name
            .clone(),
        Endpoint::Type(type_name) => type_name.clone(),
        Endpoint::Unknown => return None,
    };
    let cfn = match type_name.as_str() {
        "AWS::Serverless::Function" => "AWS::Lambda::Function",
        "AWS::Serverless::StateMachine" => "AWS::StepFunctions::StateMachine",
        "AWS::Serverless::Api" => "AWS::ApiGateway::RestApi",
        "AWS::Serverless::HttpApi" => "AWS::ApiGatewayV2::Api",
        "AWS::Serverless::SimpleTable" => "AWS::DynamoDB::Table",
        other => other,
    };
    Some(cfn.to_owned())
}

/// What a connector from `source` to `destination` generates (SAM's
/// `model/connector_profiles/profiles.json`).
#[derive(Clone, Copy)]
enum Profile {
    ManagedPolicy,
    QueuePolicy,
    TopicPolicy,
    LambdaPermission,
}

fn connector_profile(source: &str, destination: &str) -> Option<Profile> {
    const LAMBDA: &str = "AWS::Lambda::Function";
    let profile = match (source, destination) {
        ("AWS::DynamoDB::Table" | "AWS::SQS::Queue", LAMBDA) => Profile::ManagedPolicy,
        ("AWS::Events::Rule", "AWS::Events::EventBus" | "AWS::StepFunctions::StateMachine") => {
            Profile::ManagedPolicy
        }
        ("AWS::Events::Rule", "AWS::SNS::Topic") => Profile::TopicPolicy,
        ("AWS::Events::Rule" | "AWS::SNS::Topic", "AWS::SQS::Queue") => Profile::QueuePolicy,
        (
            "AWS::Events::Rule"
            | "AWS::ApiGatewayV2::Api"
            | "AWS::ApiGateway::RestApi"
            | "AWS::SNS::Topic"
            | "AWS::S3::Bucket"
            | "AWS::AppSync::GraphQLApi",
            LAMBDA,
        ) => Profile::LambdaPermission,
        (
            LAMBDA,
            LAMBDA
            | "AWS::S3::Bucket"
            | "AWS::DynamoDB::Table"
            | "AWS::SQS::Queue"
            | "AWS::SNS::Topic"
            | "AWS::StepFunctions::StateMachine"
            | "AWS::Events::EventBus"
            | "AWS::Location::PlaceIndex",
        ) => Profile::ManagedPolicy,
        (
            "AWS::StepFunctions::StateMachine",
            LAMBDA
            | "AWS::SNS::Topic"
            | "AWS::SQS::Queue"
            | "AWS::S3::Bucket"
            | "AWS::DynamoDB::Table"
            | "AWS::StepFunctions::StateMachine"
            | "AWS::Events::EventBus",
        ) => Profile::ManagedPolicy,
        ("AWS::AppSync::DataSource", "AWS::DynamoDB::Table" | LAMBDA | "AWS::Events::EventBus") => {
            Profile::ManagedPolicy
        }
        _ => return None,
    };
    Some(profile)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deployed(body: &str) -> Vec<DeployedResource> {
        let app = crate::app::parse(&format!(
            "Transform: AWS::Serverless-2016-10-31\nGlobals:\n  Function:\n    Runtime: python3.12\n{body}"
        ))
        .unwrap_or_else(|d| panic!("{d:?}"));
        deployed_resources(&app)
    }

    fn find<'a>(all: &'a [DeployedResource], id: &str) -> &'a DeployedResource {
        all.iter()
            .find(|r| r.logical_id == id)
            .unwrap_or_else(|| panic!("no {id} in {all:#?}"))
    }

    #[test]
    fn a_function_has_its_implicit_role_which_supports_a_boundary() {
        let all =
            deployed("Resources:\n  HelloWorldFunction:\n    Type: AWS::Serverless::Function\n");
        assert_eq!(all.len(), 2);
        let role = find(&all, "HelloWorldFunctionRole");
        assert_eq!(role.type_name, "AWS::IAM::Role");
        assert_eq!(role.from, "implicit role of HelloWorldFunction");
        assert!(!role.creates_role_without_boundary_support);
        assert_eq!(
            find(&all, "HelloWorldFunction").type_name,
            "AWS::Lambda::Function"
        );
    }

    #[test]
    fn roles_sam_offers_no_boundary_for_are_flagged() {
        let all = deployed("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      AutoPublishAlias: live\n      DeploymentPreference:\n        Type: AllAtOnce\n  G:\n    Type: AWS::Serverless::GraphQLApi\n    Properties:\n      SchemaInline: 'type Query { a: String }'\n      Auth:\n        Type: API_KEY\n");
        let flagged: Vec<&str> = all
            .iter()
            .filter(|r| r.creates_role_without_boundary_support)
            .map(|r| r.logical_id.as_str())
            .collect();
        assert_eq!(flagged, ["GCloudWatchRole", "CodeDeployServiceRole"]);
        assert_eq!(
            find(&all, "FVersion{hash}").hashed_prefix(),
            Some("FVersion")
        );
        assert_eq!(find(&all, "FAliaslive").type_name, "AWS::Lambda::Alias");
        assert_eq!(
            find(&all, "ServerlessDeploymentApplication").type_name,
            "AWS::CodeDeploy::Application"
        );
    }

    #[test]
    fn a_deployment_role_given_everywhere_skips_the_service_role() {
        let all = deployed("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      AutoPublishAlias: live\n      DeploymentPreference:\n        Type: AllAtOnce\n        Role: arn:aws:iam::1:role/cd\n");
        assert!(all.iter().all(|r| r.logical_id != "CodeDeployServiceRole"));
        assert!(all.iter().any(|r| r.logical_id == "FDeploymentGroup"));
    }

    #[test]
    fn implicit_apis_exist_only_for_events_without_an_api() {
        let all = deployed("Resources:\n  A:\n    Type: AWS::Serverless::Api\n    Properties:\n      StageName: live\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: Api\n          Properties:\n            RestApiId: !Ref A\n            Path: /\n            Method: get\n");
        assert!(all.iter().all(|r| r.logical_id != "ServerlessRestApi"));
        assert_eq!(
            find(&all, "FEPermissionlive").type_name,
            "AWS::Lambda::Permission"
        );
        assert_eq!(find(&all, "AliveStage").type_name, "AWS::ApiGateway::Stage");
        let implicit = deployed("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        E:\n          Type: HttpApi\n");
        assert_eq!(
            find(&implicit, "ServerlessHttpApi").type_name,
            "AWS::ApiGatewayV2::Api"
        );
        find(&implicit, "ServerlessHttpApiApiGatewayDefaultStage");
    }

    #[test]
    fn unmodeled_types_and_impossible_connectors_are_returned_as_they_are() {
        let all = deployed("Resources:\n  W:\n    Type: AWS::Serverless::WebSocketApi\n  B:\n    Type: AWS::S3::Bucket\n  C:\n    Type: AWS::Serverless::Connector\n    Properties:\n      Source:\n        Id: B\n      Destination:\n        Id: B\n      Permissions: [Read]\n");
        assert_eq!(find(&all, "W").type_name, "AWS::Serverless::WebSocketApi");
        assert_eq!(find(&all, "B").from, "declared in the template");
        assert_eq!(find(&all, "C").type_name, "AWS::Serverless::Connector");
    }

    #[test]
    fn a_permission_shared_by_events_is_one_resource() {
        let all = deployed("Resources:\n  P:\n    Type: AWS::Cognito::UserPool\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Events:\n        A:\n          Type: Cognito\n          Properties:\n            UserPool: !Ref P\n            Trigger: PreSignUp\n        B:\n          Type: Cognito\n          Properties:\n            UserPool: !Ref P\n            Trigger: PostConfirmation\n");
        assert_eq!(
            all.iter()
                .filter(|r| r.logical_id == "FCognitoPermission")
                .count(),
            1
        );
    }
}
