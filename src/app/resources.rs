//! Every resource a SAM template declares, with the properties that change what the SAM
//! transform (aws-sam-translator) generates for it: which events a function has, whether SAM
//! makes its role, an alias, a CodeDeploy group, a function URL... [`crate::permissions::sam`]
//! turns these into the CloudFormation resources the stack will hold.
//!
//! Only what changes the *set* of generated resources is kept. Values SAM resolves from template
//! parameters before it decides (an alias name, `DeploymentPreference.Enabled`) are resolved
//! with the parameters' defaults; anything else that is not literal is [`Text::Dynamic`].
//! Reference: <https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/sam-specification-generated-resources.html>

use serde_yaml::{Mapping, Value};

use crate::diag::{ConfigPath, Diagnostic};

/// One resource of the template's `Resources`, in template order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    pub logical_id: String,
    /// `Type`, e.g. `AWS::Serverless::Function` or `AWS::S3::Bucket`.
    pub type_name: String,
    /// `Condition`, when the resource has one (a literal condition name).
    pub condition: Option<String>,
    /// The physical name the template fixes, when it is a literal string (e.g. `TableName`).
    pub physical_name: Option<PhysicalName>,
    /// What SAM makes of it.
    pub sam: SamSpec,
    /// Connectors embedded in the resource (its `Connectors` attribute), with the logical ids
    /// SAM gives them (`<resource><connector>`).
    pub connectors: Vec<Connector>,
}

/// A resource name fixed in the template: `property` is where (`FunctionName`, `Name`...).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PhysicalName {
    pub property: &'static str,
    pub value: String,
}

/// A string property that is either written literally or only known at deploy time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    Literal(String),
    /// An intrinsic function (or a parameter without a default): SAM cannot see its value.
    Dynamic,
}

impl Text {
    pub fn literal(&self) -> Option<&str> {
        match self {
            Self::Literal(s) => Some(s),
            Self::Dynamic => None,
        }
    }
}

/// What the SAM transform makes of one resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SamSpec {
    /// Not a SAM type: CloudFormation deploys it as written.
    Plain,
    Function(FunctionSpec),
    Api(ApiSpec),
    HttpApi(ApiSpec),
    StateMachine(StateMachineSpec),
    SimpleTable,
    LayerVersion,
    Application,
    Connector(Connector),
    GraphQLApi(GraphQLApiSpec),
    /// An `AWS::Serverless::*` type sampipe does not model (e.g. `WebSocketApi`), or an
    /// `Fn::ForEach::*` loop of `AWS::LanguageExtensions` (type `Fn::ForEach`).
    Unmodeled,
}

/// Where a function's (or state machine's) execution role comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleSource {
    /// No `Role`: SAM generates `<id>Role`.
    Generated,
    /// `Role` given: SAM generates none.
    Given,
    /// `Role: !If [Cond, ..., !Ref AWS::NoValue]`: SAM generates the role for one branch.
    Conditional,
}

/// An `AWS::Serverless::Function`, after `Globals.Function` is merged in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionSpec {
    pub role: RoleSource,
    pub events: Vec<Event>,
    /// `AutoPublishAlias` (resolved when it refers to a parameter with a default).
    pub auto_publish_alias: Option<Text>,
    pub deployment_preference: Option<DeploymentPreference>,
    pub function_url: Option<FunctionUrl>,
    pub event_invoke: Option<EventInvoke>,
    /// `ProvisionedConcurrencyConfig` (it lands on the alias; no resource of its own).
    pub provisioned_concurrency: bool,
}

/// `DeploymentPreference` (CodeDeploy traffic shifting).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeploymentPreference {
    /// `Enabled` (default true; `false` or `"false"` turns it off).
    pub enabled: bool,
    /// `Role` given: SAM does not need its `CodeDeployServiceRole` for this function.
    pub role_given: bool,
}

/// `FunctionUrlConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FunctionUrl {
    /// `AuthType: NONE`: SAM adds two public `AWS::Lambda::Permission`s.
    pub public: bool,
}

/// `EventInvokeConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventInvoke {
    pub on_success: Option<InvokeDestination>,
    pub on_failure: Option<InvokeDestination>,
}

/// One `EventInvokeConfig.DestinationConfig.OnSuccess`/`OnFailure`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvokeDestination {
    /// `Type`: `SQS`, `SNS`, `EventBridge`, `Lambda` or `S3Bucket`.
    pub type_name: Option<String>,
    /// No `Destination` (or one only on an `!If` branch): SAM creates the SQS queue or SNS
    /// topic itself.
    pub creates_destination: bool,
}

/// One entry of a function's or state machine's `Events`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    /// `Type`, e.g. `Api`, `SQS`, `ScheduleV2`.
    pub type_name: String,
    pub source: EventSource,
    /// A literal name the event gives what it creates (`Name` of `Schedule` and `ScheduleV2`,
    /// `RuleName` of `CloudWatchEvent` and `EventBridgeRule`); a `ScheduleV2` without `Name`
    /// or `OmitName: true` is named `<owner><event>` by SAM.
    pub physical_name: Option<PhysicalName>,
}

/// What an event is, as far as the transform's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventSource {
    /// `Api`: `RestApiId` (absent: the implicit `ServerlessRestApi`).
    Api {
        api: ApiRef,
    },
    /// `HttpApi`: `ApiId` (absent: the implicit `ServerlessHttpApi`).
    HttpApi {
        api: ApiRef,
    },
    /// An event source mapping: `SQS`, `Kinesis`, `DynamoDB`, `MQ`, `MSK`, `SelfManagedKafka`,
    /// `DocumentDB`.
    Pull,
    Sns {
        sqs: SnsSqs,
    },
    S3,
    /// An EventBridge rule: `Schedule`, `CloudWatchEvent`, `EventBridgeRule`.
    Rule {
        dead_letter: DeadLetter,
        /// `RoleArn` given (state machine `Schedule` events): no event role.
        role_given: bool,
    },
    /// An EventBridge Scheduler schedule.
    ScheduleV2 {
        dead_letter: DeadLetter,
        role_given: bool,
    },
    CloudWatchLogs,
    IoTRule,
    AlexaSkill,
    Cognito,
}

/// Which API an `Api`/`HttpApi` event attaches to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiRef {
    /// No `RestApiId`/`ApiId`: the implicit API SAM creates.
    Implicit,
    /// A resource of this template (`!Ref Id` or the literal id).
    Resource(String),
    /// Anything else (an imported id...).
    External,
}

/// An event's `DeadLetterConfig`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeadLetter {
    None,
    /// `Arn` given: nothing created.
    Arn,
    /// `Type: SQS` without `Arn`: SAM creates the queue (named `QueueLogicalId` if given).
    Queue {
        logical_id: Option<String>,
    },
}

/// An `SNS` event's `SqsSubscription`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SnsSqs {
    /// Lambda subscribes to the topic directly.
    None,
    /// `SqsSubscription: true`: SAM creates a queue between topic and function.
    NewQueue,
    /// `SqsSubscription: {QueueArn, QueueUrl, ...}`: an existing queue.
    ExistingQueue { policy_logical_id: Option<String> },
}

/// An `AWS::Serverless::Api` or `AWS::Serverless::HttpApi` (and the implicit ones), after
/// `Globals.Api`/`Globals.HttpApi` are merged in.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct ApiSpec {
    /// `StageName` (`None`: absent, HTTP APIs then use `$default`).
    pub stage_name: Option<Text>,
    pub domain: Option<Domain>,
    /// `Auth.Authorizers`.
    pub authorizers: Vec<Authorizer>,
    /// REST APIs: `Auth.UsagePlan.CreateUsagePlan` (`NONE` is `None`).
    pub usage_plan: Option<UsagePlan>,
    /// `AccessLogSetting` (REST) / `AccessLogSettings` (HTTP); it adds no resource.
    pub access_log_setting: bool,
}

/// `Domain`: a custom domain name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Domain {
    /// `EndpointConfiguration: PRIVATE` (REST APIs: the `...V2` domain types).
    pub private: bool,
    /// `BasePath`: literal paths; `None` when absent (one mapping for the whole domain).
    pub base_paths: Option<Vec<String>>,
    pub route53: Option<Route53>,
    /// `AccessAssociation` (private REST domains).
    pub access_association: bool,
}

/// `Domain.Route53`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Route53 {
    /// `HostedZoneId` or `HostedZoneName` as written (SAM shares one record set group per zone).
    pub zone: String,
    /// `SeparateRecordSetGroup: true`.
    pub separate: bool,
}

/// One of `Auth.Authorizers`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Authorizer {
    pub name: String,
    /// A Lambda authorizer (`FunctionArn` given).
    pub lambda: bool,
    /// SAM adds the `AWS::Lambda::Permission` that lets API Gateway call it (REST: unless
    /// `DisableFunctionDefaultPermissions`; HTTP: only with `EnableFunctionDefaultPermissions`).
    pub permission: bool,
}

/// `Auth.UsagePlan.CreateUsagePlan`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UsagePlan {
    PerApi,
    Shared,
}

/// An `AWS::Serverless::StateMachine`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateMachineSpec {
    pub role: RoleSource,
    pub auto_publish_alias: Option<Text>,
    pub events: Vec<Event>,
}

/// An `AWS::Serverless::Connector` (or one embedded in a resource's `Connectors`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Connector {
    pub logical_id: String,
    pub source: Endpoint,
    pub destinations: Vec<Endpoint>,
    /// `Destination` is a list (logical ids then end in `Destination<index>`).
    pub multiple: bool,
    /// `Permissions`, without repeats.
    pub permissions: Vec<String>,
}

/// A connector's `Source` or one `Destination`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Endpoint {
    /// `Id`: a resource of this template.
    Id(String),
    /// `Type` (with `Arn`...): a resource elsewhere.
    Type(String),
    /// Neither: the transform fails.
    Unknown,
}

/// An `AWS::Serverless::GraphQLApi`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct GraphQLApiSpec {
    /// Logging on (the default) without `CloudWatchLogsRoleArn`: SAM makes `<id>CloudWatchRole`.
    pub logging_role: bool,
    /// `ApiKeys` ids.
    pub api_keys: Vec<String>,
    pub cache: bool,
    pub domain_name: bool,
    /// `DataSources.DynamoDb`.
    pub dynamodb_sources: Vec<DataSource>,
    /// `DataSources.Lambda`.
    pub lambda_sources: Vec<DataSource>,
    pub functions: Vec<GraphQLFunction>,
    /// `Resolvers`: (type name, resolver id).
    pub resolvers: Vec<(String, String)>,
    /// How many of `Auth` and `Auth.Additional` are `AWS_LAMBDA`.
    pub lambda_authorizers: usize,
}

/// One of a GraphQL API's data sources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataSource {
    pub id: String,
    /// `ServiceRoleArn` given: SAM makes no role and no connector policy.
    pub role_given: bool,
}

/// One of a GraphQL API's `Functions`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GraphQLFunction {
    pub id: String,
    /// Only `Id`: an existing function, nothing created.
    pub existing: bool,
    /// `DataSource: NONE`: SAM creates the API's `NoneDataSource`.
    pub none_data_source: bool,
}

/// The template's sections that the resources read: `Parameters` (for defaults) and `Globals`.
pub(crate) struct Context<'a> {
    parameters: Option<&'a Mapping>,
    globals: Option<&'a Mapping>,
}

impl<'a> Context<'a> {
    pub(crate) fn new(root: &'a Mapping) -> Self {
        Self {
            parameters: root.get("Parameters").and_then(untagged_mapping),
            globals: root.get("Globals").and_then(untagged_mapping),
        }
    }

    fn global(&self, section: &str) -> Option<&'a Mapping> {
        self.globals?.get(section).and_then(untagged_mapping)
    }

    /// The default of the parameter `value` refers to (`!Ref Param`), or `value` itself: SAM
    /// resolves parameter references in these properties before it decides.
    fn resolve<'v>(&self, value: &'v Value) -> &'v Value
    where
        'a: 'v,
    {
        if let Some(("Ref", Value::String(name))) = intrinsic(value) {
            if let Some(default) = self
                .parameters
                .and_then(|p| p.get(name.as_str()))
                .and_then(|p| p.get("Default"))
            {
                return default;
            }
        }
        value
    }

    fn text(&self, value: &Value) -> Text {
        match self.resolve(value) {
            Value::String(s) => Text::Literal(s.clone()),
            Value::Number(n) => Text::Literal(n.to_string()),
            _ => Text::Dynamic,
        }
    }

    /// The implicit `ServerlessRestApi`: `StageName: Prod` and `Globals.Api`.
    pub(crate) fn implicit_rest_api(&self) -> ApiSpec {
        let merged = merge_globals(self.global("Api"), None);
        let mut api = api_spec(self, &merged, ApiKind::Rest);
        api.stage_name = Some(Text::Literal("Prod".into()));
        api
    }

    /// The implicit `ServerlessHttpApi`: `Globals.HttpApi`.
    pub(crate) fn implicit_http_api(&self) -> ApiSpec {
        let merged = merge_globals(self.global("HttpApi"), None);
        api_spec(self, &merged, ApiKind::Http)
    }
}

/// Reads one resource; `problems` gets located diagnostics for what the SAM transform would
/// refuse and sampipe must understand (a resource without a `Type`, an unknown event type).
pub(crate) fn resource(
    context: &Context<'_>,
    id: &str,
    value: &Value,
    problems: &mut Vec<Diagnostic>,
) -> Option<Resource> {
    let path = ConfigPath::root().key("Resources").key(id);
    // `Transform: AWS::LanguageExtensions` loops: CloudFormation expands them, sampipe does
    // not, so they stay one unexpanded entry (never silently nothing).
    if id.starts_with("Fn::ForEach::") {
        return Some(Resource {
            logical_id: id.to_owned(),
            type_name: "Fn::ForEach".to_owned(),
            condition: None,
            physical_name: None,
            sam: SamSpec::Unmodeled,
            connectors: Vec::new(),
        });
    }
    let Some(body) = untagged_mapping(value) else {
        problems.push(
            Diagnostic::error(
                "invalid-sam-resource",
                format!("resource `{id}` is not a mapping"),
            )
            .at_key(path)
            .help("write the resource as `Type:` and `Properties:`"),
        );
        return None;
    };
    let type_name = match body.get("Type") {
        Some(Value::String(t)) if !t.is_empty() => t.clone(),
        Some(_) => {
            problems.push(
                Diagnostic::error(
                    "invalid-sam-resource",
                    format!("resource `{id}` has a `Type` that is not a literal string"),
                )
                .at(path.key("Type"))
                .help("write the resource type literally, e.g. `Type: AWS::Serverless::Function`"),
            );
            return None;
        }
        None => {
            problems.push(
                Diagnostic::error(
                    "invalid-sam-resource",
                    format!("resource `{id}` has no `Type`"),
                )
                .at_key(path)
                .help("add the resource type, e.g. `Type: AWS::Serverless::Function`"),
            );
            return None;
        }
    };
    let condition = match body.get("Condition") {
        Some(Value::String(c)) => Some(c.clone()),
        _ => None,
    };
    let empty = Mapping::new();
    let own = body.get("Properties").and_then(untagged_mapping);
    let global_section = match type_name.as_str() {
        "AWS::Serverless::Function" => Some("Function"),
        "AWS::Serverless::Api" => Some("Api"),
        "AWS::Serverless::HttpApi" => Some("HttpApi"),
        "AWS::Serverless::StateMachine" => Some("StateMachine"),
        _ => None,
    };
    let properties = match global_section {
        Some(section) => merge_globals(context.global(section), own),
        None => own.cloned().unwrap_or_default(),
    };
    let properties_path = path.key("Properties");
    let sam = match type_name.as_str() {
        "AWS::Serverless::Function" => SamSpec::Function(function_spec(
            context,
            id,
            &properties,
            &properties_path,
            problems,
        )),
        "AWS::Serverless::Api" => SamSpec::Api(api_spec(context, &properties, ApiKind::Rest)),
        "AWS::Serverless::HttpApi" => {
            SamSpec::HttpApi(api_spec(context, &properties, ApiKind::Http))
        }
        "AWS::Serverless::StateMachine" => SamSpec::StateMachine(StateMachineSpec {
            // Unlike functions, any `Role` (even an `!If`) means SAM makes no role.
            role: if properties.contains_key("Role") {
                RoleSource::Given
            } else {
                RoleSource::Generated
            },
            auto_publish_alias: properties.get("AutoPublishAlias").map(|v| context.text(v)),
            events: events(
                id,
                &properties,
                &properties_path,
                EventOwner::StateMachine,
                problems,
            ),
        }),
        "AWS::Serverless::SimpleTable" => SamSpec::SimpleTable,
        "AWS::Serverless::LayerVersion" => SamSpec::LayerVersion,
        "AWS::Serverless::Application" => SamSpec::Application,
        "AWS::Serverless::Connector" => {
            SamSpec::Connector(connector(id.to_owned(), &properties, None))
        }
        "AWS::Serverless::GraphQLApi" => SamSpec::GraphQLApi(graphql_api_spec(&properties)),
        t if t.starts_with("AWS::Serverless::") => SamSpec::Unmodeled,
        _ => SamSpec::Plain,
    };
    let connectors = body
        .get("Connectors")
        .and_then(untagged_mapping)
        .map(|embedded| {
            embedded
                .iter()
                .filter_map(|(name, connector_body)| {
                    let name = name.as_str()?;
                    let connector_properties = connector_body
                        .get("Properties")
                        .and_then(untagged_mapping)
                        .unwrap_or(&empty);
                    Some(connector(
                        format!("{id}{name}"),
                        connector_properties,
                        Some(id),
                    ))
                })
                .collect()
        })
        .unwrap_or_default();
    Some(Resource {
        logical_id: id.to_owned(),
        physical_name: physical_name(&type_name, &properties),
        type_name,
        condition,
        sam,
        connectors,
    })
}

/// The property that names a resource of `type_name`, and its value when literal.
fn physical_name(type_name: &str, properties: &Mapping) -> Option<PhysicalName> {
    let property = match type_name {
        "AWS::Serverless::Function" | "AWS::Lambda::Function" => "FunctionName",
        "AWS::IAM::Role" => "RoleName",
        "AWS::Serverless::SimpleTable" | "AWS::DynamoDB::Table" => "TableName",
        "AWS::SQS::Queue" => "QueueName",
        "AWS::SNS::Topic" => "TopicName",
        "AWS::S3::Bucket" => "BucketName",
        "AWS::StepFunctions::StateMachine" => "StateMachineName",
        "AWS::Serverless::LayerVersion" | "AWS::Lambda::LayerVersion" => "LayerName",
        "AWS::Logs::LogGroup" => "LogGroupName",
        "AWS::Serverless::StateMachine"
        | "AWS::Events::Rule"
        | "AWS::Serverless::Api"
        | "AWS::ApiGateway::RestApi"
        | "AWS::Serverless::HttpApi"
        | "AWS::ApiGatewayV2::Api" => "Name",
        _ => return None,
    };
    match properties.get(property) {
        Some(Value::String(value)) => Some(PhysicalName {
            property,
            value: value.clone(),
        }),
        _ => None,
    }
}

fn function_spec(
    context: &Context<'_>,
    id: &str,
    properties: &Mapping,
    path: &ConfigPath,
    problems: &mut Vec<Diagnostic>,
) -> FunctionSpec {
    let deployment_preference = properties
        .get("DeploymentPreference")
        .and_then(untagged_mapping)
        .map(|preference| DeploymentPreference {
            enabled: match preference.get("Enabled").map(|v| context.resolve(v)) {
                Some(Value::Bool(false)) => false,
                Some(Value::String(s)) => s != "false" && s != "False",
                _ => true,
            },
            role_given: preference.get("Role").is_some(),
        });
    let function_url = properties
        .get("FunctionUrlConfig")
        .map(|config| FunctionUrl {
            public: matches!(
                untagged_mapping(config).and_then(|c| c.get("AuthType")),
                Some(Value::String(t)) if t == "NONE"
            ),
        });
    let event_invoke = properties
        .get("EventInvokeConfig")
        .and_then(untagged_mapping)
        .map(|config| {
            let destinations = config
                .get("DestinationConfig")
                .map(|v| context.resolve(v))
                .and_then(untagged_mapping);
            let destination = |name: &str| {
                let d = destinations?.get(name).and_then(untagged_mapping)?;
                let type_name = d.get("Type").and_then(literal).map(str::to_owned);
                let creates = matches!(type_name.as_deref(), Some("SQS" | "SNS"))
                    && match d.get("Destination") {
                        None => true,
                        Some(arn) => if_with_one_no_value(arn),
                    };
                Some(InvokeDestination {
                    type_name,
                    creates_destination: creates,
                })
            };
            EventInvoke {
                on_success: destination("OnSuccess"),
                on_failure: destination("OnFailure"),
            }
        });
    FunctionSpec {
        role: role_source(properties.get("Role")),
        events: events(id, properties, path, EventOwner::Function, problems),
        auto_publish_alias: properties.get("AutoPublishAlias").map(|v| context.text(v)),
        deployment_preference,
        function_url,
        event_invoke,
        provisioned_concurrency: properties.contains_key("ProvisionedConcurrencyConfig"),
    }
}

fn role_source(role: Option<&Value>) -> RoleSource {
    match role {
        None => RoleSource::Generated,
        Some(value) if if_with_one_no_value(value) || if_with_two_no_values(value) => {
            RoleSource::Conditional
        }
        Some(_) => RoleSource::Given,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum EventOwner {
    Function,
    StateMachine,
}

/// The event types SAM knows for functions and for state machines.
const FUNCTION_EVENTS: &[&str] = &[
    "Api",
    "HttpApi",
    "SQS",
    "Kinesis",
    "DynamoDB",
    "MQ",
    "MSK",
    "SelfManagedKafka",
    "DocumentDB",
    "SNS",
    "S3",
    "Schedule",
    "ScheduleV2",
    "EventBridgeRule",
    "CloudWatchEvent",
    "CloudWatchLogs",
    "IoTRule",
    "AlexaSkill",
    "Cognito",
];
const STATE_MACHINE_EVENTS: &[&str] = &[
    "Api",
    "Schedule",
    "ScheduleV2",
    "CloudWatchEvent",
    "EventBridgeRule",
];

fn events(
    owner_id: &str,
    properties: &Mapping,
    path: &ConfigPath,
    owner: EventOwner,
    problems: &mut Vec<Diagnostic>,
) -> Vec<Event> {
    let Some(events) = properties.get("Events") else {
        return Vec::new();
    };
    let path = path.key("Events");
    let Some(events) = untagged_mapping(events) else {
        problems.push(
            Diagnostic::error(
                "invalid-sam-event",
                format!("`{owner_id}`'s `Events` is not a mapping"),
            )
            .at(path)
            .help("write each event as `<Name>: {Type: ..., Properties: ...}`"),
        );
        return Vec::new();
    };
    let known = match owner {
        EventOwner::Function => FUNCTION_EVENTS,
        EventOwner::StateMachine => STATE_MACHINE_EVENTS,
    };
    let mut all = Vec::new();
    for (event_id, event) in events {
        let Some(event_id) = event_id.as_str() else {
            continue;
        };
        let event_path = path.key(event_id);
        let Some(event) = untagged_mapping(event) else {
            problems.push(
                Diagnostic::error(
                    "invalid-sam-event",
                    format!("event `{event_id}` of `{owner_id}` is not a mapping"),
                )
                .at_key(event_path)
                .help("write the event as `Type:` and `Properties:`"),
            );
            continue;
        };
        let type_name = match event.get("Type") {
            Some(Value::String(t)) => t.as_str(),
            _ => {
                let diagnostic = Diagnostic::error(
                    "invalid-sam-event",
                    format!("event `{event_id}` of `{owner_id}` has no literal `Type`"),
                )
                .help(format!("write one of {}", known.join(", ")));
                problems.push(if event.contains_key("Type") {
                    diagnostic.at(event_path.key("Type"))
                } else {
                    diagnostic.at_key(event_path)
                });
                continue;
            }
        };
        if !known.contains(&type_name) {
            problems.push(
                Diagnostic::error(
                    "unknown-sam-event-type",
                    format!(
                        "event `{event_id}` of `{owner_id}` has `Type: {type_name}`, which SAM does not know for {}",
                        match owner {
                            EventOwner::Function => "functions",
                            EventOwner::StateMachine => "state machines",
                        }
                    ),
                )
                .at(event_path.key("Type"))
                .help(format!("use one of {}", known.join(", "))),
            );
            continue;
        }
        let empty = Mapping::new();
        let p = event
            .get("Properties")
            .and_then(untagged_mapping)
            .unwrap_or(&empty);
        let dead_letter = || match p.get("DeadLetterConfig").and_then(untagged_mapping) {
            None => DeadLetter::None,
            Some(config) if config.contains_key("Arn") => DeadLetter::Arn,
            Some(config) => DeadLetter::Queue {
                logical_id: config
                    .get("QueueLogicalId")
                    .and_then(literal)
                    .map(str::to_owned),
            },
        };
        let named = |property: &'static str| match p.get(property) {
            Some(Value::String(value)) => Some(PhysicalName {
                property,
                value: value.clone(),
            }),
            _ => None,
        };
        let (source, physical_name) = match type_name {
            "Api" => (
                EventSource::Api {
                    api: api_ref(p.get("RestApiId")),
                },
                None,
            ),
            "HttpApi" => (
                EventSource::HttpApi {
                    api: api_ref(p.get("ApiId")),
                },
                None,
            ),
            "SQS" | "Kinesis" | "DynamoDB" | "MQ" | "MSK" | "SelfManagedKafka" | "DocumentDB" => {
                (EventSource::Pull, None)
            }
            "SNS" => (
                EventSource::Sns {
                    sqs: match p.get("SqsSubscription") {
                        None | Some(Value::Bool(false)) => SnsSqs::None,
                        Some(Value::Bool(true)) => SnsSqs::NewQueue,
                        Some(other) => SnsSqs::ExistingQueue {
                            policy_logical_id: untagged_mapping(other)
                                .and_then(|s| s.get("QueuePolicyLogicalId"))
                                .and_then(literal)
                                .map(str::to_owned),
                        },
                    },
                },
                None,
            ),
            "S3" => (EventSource::S3, None),
            "Schedule" => (
                EventSource::Rule {
                    dead_letter: dead_letter(),
                    role_given: owner == EventOwner::StateMachine && p.contains_key("RoleArn"),
                },
                named("Name"),
            ),
            "CloudWatchEvent" | "EventBridgeRule" => (
                EventSource::Rule {
                    dead_letter: dead_letter(),
                    role_given: false,
                },
                named("RuleName"),
            ),
            // Without `Name`, SAM names the schedule after its logical id (`<owner><event>`,
            // not stack-prefixed) unless `OmitName: true`.
            "ScheduleV2" => (
                EventSource::ScheduleV2 {
                    dead_letter: dead_letter(),
                    role_given: p.contains_key("RoleArn"),
                },
                named("Name").or_else(|| {
                    (!matches!(p.get("OmitName"), Some(Value::Bool(true)))
                        && !p.contains_key("Name"))
                    .then(|| PhysicalName {
                        property: "Name",
                        value: format!("{owner_id}{event_id}"),
                    })
                }),
            ),
            "CloudWatchLogs" => (EventSource::CloudWatchLogs, None),
            "IoTRule" => (EventSource::IoTRule, None),
            "AlexaSkill" => (EventSource::AlexaSkill, None),
            _ => (EventSource::Cognito, None),
        };
        all.push(Event {
            id: event_id.to_owned(),
            type_name: type_name.to_owned(),
            source,
            physical_name,
        });
    }
    all
}

fn api_ref(id: Option<&Value>) -> ApiRef {
    match id {
        None => ApiRef::Implicit,
        Some(Value::String(id)) => ApiRef::Resource(id.clone()),
        Some(value) => match intrinsic(value) {
            Some(("Ref", Value::String(id))) => ApiRef::Resource(id.clone()),
            _ => ApiRef::External,
        },
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ApiKind {
    Rest,
    Http,
}

fn api_spec(context: &Context<'_>, properties: &Mapping, kind: ApiKind) -> ApiSpec {
    let auth = properties
        .get("Auth")
        .map(|v| context.resolve(v))
        .and_then(untagged_mapping);
    let authorizers = auth
        .and_then(|a| a.get("Authorizers"))
        .and_then(untagged_mapping)
        .map(|all| {
            all.iter()
                .filter_map(|(name, authorizer)| {
                    let authorizer = untagged_mapping(authorizer)?;
                    let lambda = authorizer.contains_key("FunctionArn");
                    let flag = |key: &str| {
                        matches!(
                            authorizer.get(key).map(|v| context.resolve(v)),
                            Some(Value::Bool(true))
                        )
                    };
                    let permission = lambda
                        && match kind {
                            ApiKind::Rest => !flag("DisableFunctionDefaultPermissions"),
                            ApiKind::Http => flag("EnableFunctionDefaultPermissions"),
                        };
                    Some(Authorizer {
                        name: name.as_str()?.to_owned(),
                        lambda,
                        permission,
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let usage_plan = match kind {
        ApiKind::Http => None,
        ApiKind::Rest => match auth
            .and_then(|a| a.get("UsagePlan"))
            .and_then(untagged_mapping)
            .and_then(|u| u.get("CreateUsagePlan"))
            .map(|v| context.resolve(v))
        {
            Some(Value::String(s)) if s == "PER_API" => Some(UsagePlan::PerApi),
            Some(Value::String(s)) if s == "SHARED" => Some(UsagePlan::Shared),
            _ => None,
        },
    };
    let domain = properties
        .get("Domain")
        .map(|v| context.resolve(v))
        .and_then(untagged_mapping)
        .map(|domain| Domain {
            private: kind == ApiKind::Rest
                && matches!(
                    domain.get("EndpointConfiguration").map(|v| context.resolve(v)),
                    Some(Value::String(e)) if e == "PRIVATE"
                ),
            base_paths: match domain.get("BasePath").map(|v| context.resolve(v)) {
                Some(Value::String(path)) if !path.is_empty() => Some(vec![path.clone()]),
                Some(Value::Sequence(paths)) if !paths.is_empty() => Some(
                    paths
                        .iter()
                        .filter_map(|p| literal(context.resolve(p)))
                        .map(str::to_owned)
                        .collect(),
                ),
                _ => None,
            },
            route53: domain
                .get("Route53")
                .and_then(untagged_mapping)
                .and_then(|route53| {
                    let zone = route53
                        .get("HostedZoneId")
                        .or_else(|| route53.get("HostedZoneName"))?;
                    Some(Route53 {
                        zone: serde_yaml::to_string(context.resolve(zone)).unwrap_or_default(),
                        separate: matches!(
                            route53.get("SeparateRecordSetGroup"),
                            Some(Value::Bool(true))
                        ),
                    })
                }),
            access_association: domain.contains_key("AccessAssociation"),
        });
    ApiSpec {
        stage_name: properties.get("StageName").map(|v| match v {
            Value::String(s) => Text::Literal(s.clone()),
            _ => Text::Dynamic,
        }),
        domain,
        authorizers,
        usage_plan,
        access_log_setting: properties.contains_key(match kind {
            ApiKind::Rest => "AccessLogSetting",
            ApiKind::Http => "AccessLogSettings",
        }),
    }
}

fn connector(logical_id: String, properties: &Mapping, embedded_in: Option<&str>) -> Connector {
    let endpoint = |value: &Value| match untagged_mapping(value) {
        Some(m) => match (m.get("Id"), m.get("Type")) {
            (Some(Value::String(id)), _) => Endpoint::Id(id.clone()),
            (_, Some(Value::String(t))) => Endpoint::Type(t.clone()),
            _ => Endpoint::Unknown,
        },
        None => Endpoint::Unknown,
    };
    let source = match embedded_in {
        Some(id) => Endpoint::Id(id.to_owned()),
        None => properties
            .get("Source")
            .map(endpoint)
            .unwrap_or(Endpoint::Unknown),
    };
    let (destinations, multiple) = match properties.get("Destination") {
        Some(Value::Sequence(all)) => (all.iter().map(endpoint).collect(), true),
        Some(one) => (vec![endpoint(one)], false),
        None => (Vec::new(), false),
    };
    let mut permissions: Vec<String> = properties
        .get("Permissions")
        .and_then(untagged_sequence)
        .map(|p| p.iter().filter_map(literal).map(str::to_owned).collect())
        .unwrap_or_default();
    permissions.sort();
    permissions.dedup();
    Connector {
        logical_id,
        source,
        destinations,
        multiple,
        permissions,
    }
}

fn graphql_api_spec(properties: &Mapping) -> GraphQLApiSpec {
    let keys = |m: Option<&Mapping>| -> Vec<String> {
        m.map(|m| {
            m.keys()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
    };
    let data_sources = properties.get("DataSources").and_then(untagged_mapping);
    let sources = |kind: &str| -> Vec<DataSource> {
        data_sources
            .and_then(|d| d.get(kind))
            .and_then(untagged_mapping)
            .map(|all| {
                all.iter()
                    .filter_map(|(id, source)| {
                        Some(DataSource {
                            id: id.as_str()?.to_owned(),
                            role_given: untagged_mapping(source)
                                .is_some_and(|s| s.contains_key("ServiceRoleArn")),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    let logging_role = match properties.get("Logging") {
        Some(Value::Bool(false)) => false,
        Some(Value::Mapping(logging)) => !logging.contains_key("CloudWatchLogsRoleArn"),
        _ => true,
    };
    let auth = properties.get("Auth").and_then(untagged_mapping);
    let is_lambda =
        |a: &Mapping| matches!(a.get("Type"), Some(Value::String(t)) if t == "AWS_LAMBDA");
    let lambda_authorizers = auth.map_or(0, |a| {
        usize::from(is_lambda(a))
            + a.get("Additional")
                .and_then(untagged_sequence)
                .map_or(0, |more| {
                    more.iter()
                        .filter_map(untagged_mapping)
                        .filter(|m| is_lambda(m))
                        .count()
                })
    });
    let functions = properties
        .get("Functions")
        .and_then(untagged_mapping)
        .map(|all| {
            all.iter()
                .filter_map(|(id, function)| {
                    let function = untagged_mapping(function)?;
                    Some(GraphQLFunction {
                        id: id.as_str()?.to_owned(),
                        existing: function.contains_key("Id"),
                        none_data_source: matches!(
                            function.get("DataSource"),
                            Some(Value::String(s)) if s.eq_ignore_ascii_case("none")
                        ),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let resolvers = properties
        .get("Resolvers")
        .and_then(untagged_mapping)
        .map(|types| {
            types
                .iter()
                .filter_map(|(type_name, resolvers)| {
                    let type_name = type_name.as_str()?;
                    Some(
                        keys(untagged_mapping(resolvers))
                            .into_iter()
                            .map(move |id| (type_name.to_owned(), id)),
                    )
                })
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    GraphQLApiSpec {
        logging_role,
        api_keys: keys(properties.get("ApiKeys").and_then(untagged_mapping)),
        cache: properties.contains_key("Cache"),
        domain_name: properties.contains_key("DomainName"),
        dynamodb_sources: sources("DynamoDb"),
        lambda_sources: sources("Lambda"),
        functions,
        resolvers,
        lambda_authorizers,
    }
}

/// `Globals.<section>` merged under a resource's properties as SAM merges them: mappings key
/// by key (the resource wins), lists concatenated, anything else replaced.
fn merge_globals(global: Option<&Mapping>, own: Option<&Mapping>) -> Mapping {
    let mut merged = global.cloned().unwrap_or_default();
    for (key, value) in own.into_iter().flatten() {
        let combined = match merged.get(key) {
            Some(existing) => merge_value(existing, value),
            None => value.clone(),
        };
        merged.insert(key.clone(), combined);
    }
    merged
}

fn merge_value(global: &Value, own: &Value) -> Value {
    match (global, own) {
        (Value::Mapping(g), Value::Mapping(o))
            if intrinsic(global).is_none() && intrinsic(own).is_none() =>
        {
            Value::Mapping(merge_globals(Some(g), Some(o)))
        }
        (Value::Sequence(g), Value::Sequence(o)) => {
            Value::Sequence(g.iter().chain(o).cloned().collect())
        }
        _ => own.clone(),
    }
}

/// The intrinsic function `value` is, in either form: `!Ref x` (a YAML tag) or `{Ref: x}`.
/// Returns its full name (`Ref`, `Fn::If`...) and argument.
fn intrinsic(value: &Value) -> Option<(&str, &Value)> {
    match value {
        Value::Tagged(tagged) => {
            let tag = tagged.tag.to_string();
            let name = match tag.trim_start_matches('!') {
                "Ref" => "Ref",
                "Condition" => "Condition",
                "If" => "Fn::If",
                "GetAtt" => "Fn::GetAtt",
                "Sub" => "Fn::Sub",
                "ImportValue" => "Fn::ImportValue",
                "Join" => "Fn::Join",
                "Select" => "Fn::Select",
                "FindInMap" => "Fn::FindInMap",
                _ => "Fn::Other",
            };
            Some((name, &tagged.value))
        }
        Value::Mapping(m) if m.len() == 1 => {
            let (key, argument) = m.iter().next()?;
            let key = key.as_str()?;
            (key == "Ref" || key == "Condition" || key.starts_with("Fn::"))
                .then_some((key, argument))
        }
        _ => None,
    }
}

fn is_no_value(value: &Value) -> bool {
    matches!(intrinsic(value), Some(("Ref", Value::String(name))) if name == "AWS::NoValue")
}

fn if_branches(value: &Value) -> Option<(&Value, &Value)> {
    match intrinsic(value)? {
        ("Fn::If", Value::Sequence(items)) if items.len() == 3 => Some((&items[1], &items[2])),
        _ => None,
    }
}

/// `!If [Cond, x, !Ref AWS::NoValue]` (or the other way round): one branch is empty.
fn if_with_one_no_value(value: &Value) -> bool {
    if_branches(value).is_some_and(|(a, b)| is_no_value(a) != is_no_value(b))
}

fn if_with_two_no_values(value: &Value) -> bool {
    if_branches(value).is_some_and(|(a, b)| is_no_value(a) && is_no_value(b))
}

/// A literal string (not `!Ref x`, which `Value::as_str` would also read as a string).
fn literal(value: &Value) -> Option<&str> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

fn untagged_mapping(value: &Value) -> Option<&Mapping> {
    match value {
        Value::Mapping(m) if intrinsic(value).is_none() => Some(m),
        _ => None,
    }
}

fn untagged_sequence(value: &Value) -> Option<&Vec<Value>> {
    match value {
        Value::Sequence(s) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resources(body: &str) -> Vec<Resource> {
        crate::app::parse(&format!("Transform: AWS::Serverless-2016-10-31\n{body}"))
            .unwrap_or_else(|d| panic!("{d:?}"))
            .resources
    }

    fn codes(body: &str) -> Vec<&'static str> {
        crate::app::parse(&format!("Transform: AWS::Serverless-2016-10-31\n{body}"))
            .err()
            .unwrap_or_default()
            .iter()
            .map(|d| d.code)
            .collect()
    }

    fn function(resource: &Resource) -> &FunctionSpec {
        match &resource.sam {
            SamSpec::Function(f) => f,
            other => panic!("not a function: {other:?}"),
        }
    }

    #[test]
    fn records_types_conditions_and_literal_physical_names_only() {
        let all = resources("Resources:\n  T:\n    Type: AWS::DynamoDB::Table\n    Condition: IsProd\n    Properties:\n      TableName: orders\n  Q:\n    Type: AWS::SQS::Queue\n    Properties:\n      QueueName: !Sub '${AWS::StackName}-q'\n  A:\n    Type: AWS::Serverless::Api\n    Properties:\n      Name: orders-api\n      StageName: live\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Name: flow\n      Role: !GetAtt R.Arn\n  W:\n    Type: AWS::Serverless::WebSocketApi\n");
        let ids: Vec<(&str, &str)> = all
            .iter()
            .map(|r| (r.logical_id.as_str(), r.type_name.as_str()))
            .collect();
        assert_eq!(
            ids,
            [
                ("T", "AWS::DynamoDB::Table"),
                ("Q", "AWS::SQS::Queue"),
                ("A", "AWS::Serverless::Api"),
                ("M", "AWS::Serverless::StateMachine"),
                ("W", "AWS::Serverless::WebSocketApi"),
            ]
        );
        assert_eq!(all[0].condition.as_deref(), Some("IsProd"));
        assert_eq!(
            all[0].physical_name,
            Some(PhysicalName {
                property: "TableName",
                value: "orders".into()
            })
        );
        assert_eq!(all[1].physical_name, None, "a !Sub is not a literal name");
        assert_eq!(
            all[2].physical_name.as_ref().map(|n| n.property),
            Some("Name")
        );
        assert_eq!(
            all[3].physical_name.as_ref().map(|n| n.value.as_str()),
            Some("flow")
        );
        assert!(matches!(&all[3].sam, SamSpec::StateMachine(m) if m.role == RoleSource::Given));
        assert_eq!(all[4].sam, SamSpec::Unmodeled);
        let looped = resources("Resources:\n  Fn::ForEach::Topics:\n    - Name\n    - [A, B]\n    - Topic${Name}:\n        Type: AWS::SNS::Topic\n");
        assert_eq!(
            (looped[0].type_name.as_str(), &looped[0].sam),
            ("Fn::ForEach", &SamSpec::Unmodeled)
        );
    }

    #[test]
    fn globals_reach_functions_and_parameter_defaults_resolve() {
        let all = resources("Parameters:\n  Alias:\n    Type: String\n    Default: live\nGlobals:\n  Function:\n    Runtime: python3.12\n    AutoPublishAlias: !Ref Alias\n    DeploymentPreference:\n      Type: AllAtOnce\nResources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      DeploymentPreference:\n        Role: arn:aws:iam::1:role/cd\n  G:\n    Type: AWS::Serverless::Function\n    Properties:\n      AutoPublishAlias: blue\n      DeploymentPreference:\n        Enabled: false\n");
        let (f, g) = (function(&all[0]), function(&all[1]));
        assert_eq!(f.auto_publish_alias, Some(Text::Literal("live".into())));
        assert_eq!(
            f.deployment_preference,
            Some(DeploymentPreference {
                enabled: true,
                role_given: true
            }),
            "Globals' Type and the function's Role merge"
        );
        assert_eq!(g.auto_publish_alias, Some(Text::Literal("blue".into())));
        assert!(!g.deployment_preference.as_ref().expect("merged").enabled);
        assert_eq!(f.role, RoleSource::Generated);
    }

    #[test]
    fn reads_json_intrinsics_like_yaml_tags() {
        let app = crate::app::parse(r#"{"Transform": "AWS::Serverless-2016-10-31", "Resources": {
            "F": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12",
                "Role": {"Fn::If": ["C", {"Ref": "AWS::NoValue"}, "arn:aws:iam::1:role/r"]},
                "FunctionName": {"Ref": "Name"},
                "Events": {"E": {"Type": "Api", "Properties": {"RestApiId": {"Ref": "A"}, "Path": "/", "Method": "get"}}}}},
            "A": {"Type": "AWS::Serverless::Api", "Properties": {"StageName": {"Ref": "Stage"}}}}}"#)
            .expect("parses");
        let f = function(&app.resources[0]);
        assert_eq!(f.role, RoleSource::Conditional);
        assert_eq!(app.resources[0].physical_name, None);
        assert_eq!(
            f.events[0].source,
            EventSource::Api {
                api: ApiRef::Resource("A".into())
            }
        );
        assert!(
            matches!(&app.resources[1].sam, SamSpec::Api(a) if a.stage_name == Some(Text::Dynamic))
        );
    }

    #[test]
    fn events_keep_what_changes_the_output() {
        let all = resources("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Events:\n        S:\n          Type: Schedule\n          Properties:\n            Schedule: rate(1 hour)\n            Name: hourly\n            DeadLetterConfig:\n              Type: SQS\n              QueueLogicalId: Dlq\n        T:\n          Type: SNS\n          Properties:\n            Topic: !Ref X\n            SqsSubscription: true\n        H:\n          Type: HttpApi\n");
        let events = &function(&all[0]).events;
        assert_eq!(
            events[0].source,
            EventSource::Rule {
                dead_letter: DeadLetter::Queue {
                    logical_id: Some("Dlq".into())
                },
                role_given: false
            }
        );
        assert_eq!(
            events[0].physical_name.as_ref().map(|n| n.value.as_str()),
            Some("hourly")
        );
        assert_eq!(
            events[1].source,
            EventSource::Sns {
                sqs: SnsSqs::NewQueue
            }
        );
        assert_eq!(
            events[2].source,
            EventSource::HttpApi {
                api: ApiRef::Implicit
            }
        );
    }

    #[test]
    fn a_schedule_v2_is_named_after_its_logical_id_unless_told_otherwise() {
        let all = resources("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Events:\n        Unnamed:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: rate(1 day)\n        Omitted:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: rate(1 day)\n            OmitName: true\n        Named:\n          Type: ScheduleV2\n          Properties:\n            ScheduleExpression: rate(1 day)\n            Name: !Sub '${AWS::StackName}-daily'\n");
        let names: Vec<Option<&str>> = function(&all[0])
            .events
            .iter()
            .map(|e| e.physical_name.as_ref().map(|n| n.value.as_str()))
            .collect();
        assert_eq!(names, [Some("FUnnamed"), None, None]);
    }

    #[test]
    fn embedded_connectors_are_named_after_their_resource() {
        let all = resources("Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n    Connectors:\n      ToTable:\n        Properties:\n          Destination:\n            Id: T\n          Permissions: [Write, Read, Write]\n  T:\n    Type: AWS::Serverless::SimpleTable\n");
        assert_eq!(
            all[0].connectors,
            [Connector {
                logical_id: "FToTable".into(),
                source: Endpoint::Id("F".into()),
                destinations: vec![Endpoint::Id("T".into())],
                multiple: false,
                permissions: vec!["Read".into(), "Write".into()],
            }]
        );
    }

    #[test]
    fn malformed_resources_and_events_are_located_diagnostics() {
        assert_eq!(codes("Resources:\n  A: 3\n"), ["invalid-sam-resource"]);
        assert_eq!(
            codes("Resources:\n  A:\n    Properties: {}\n"),
            ["invalid-sam-resource"]
        );
        assert_eq!(
            codes("Resources:\n  A:\n    Type: !Ref T\n"),
            ["invalid-sam-resource"]
        );
        let function = "Resources:\n  F:\n    Type: AWS::Serverless::Function\n    Properties:\n      Runtime: python3.12\n      Events:";
        assert_eq!(codes(&format!("{function} [a]\n")), ["invalid-sam-event"]);
        assert_eq!(
            codes(&format!("{function}\n        E: 1\n")),
            ["invalid-sam-event"]
        );
        assert_eq!(
            codes(&format!("{function}\n        E:\n          Type: !Ref T\n")),
            ["invalid-sam-event"]
        );
        assert_eq!(
            codes(&format!("{function}\n        E:\n          Type: Sqs\n")),
            ["unknown-sam-event-type"]
        );
        assert_eq!(
            codes("Resources:\n  M:\n    Type: AWS::Serverless::StateMachine\n    Properties:\n      Events:\n        E:\n          Type: SQS\n"),
            ["unknown-sam-event-type"],
            "state machines take fewer event types"
        );
        let diagnostics = crate::app::parse(
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Properties: {}\n",
        )
        .expect_err("no Type");
        let source = crate::config::ConfigSource::new(
            "template.yaml",
            "Transform: AWS::Serverless-2016-10-31\nResources:\n  A:\n    Properties: {}\n",
        );
        assert!(
            source.render(&diagnostics).contains("template.yaml:3:3"),
            "{}",
            source.render(&diagnostics)
        );
    }
}
