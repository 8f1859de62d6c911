// The package's public surface: createSuiteClient and SuiteError, plus every generated
// message and enum of the three services, each under its service's namespace
// (identity.UserStatus, billing.SubscriptionStatus, questions.PracticeMode, ...).
export {
  bearerAuthInterceptor,
  createSuiteClient,
  isSafeToRetry,
  requestIdInterceptor,
  type BillingClient,
  type IdentityClient,
  type QuestionsClient,
  type RetryOptions,
  type SuiteAddresses,
  type SuiteClient,
  type SuiteClientOptions,
  type TlsOptions,
  type TokenProvider,
} from "./client.js";
export { Code, SuiteError, type CodeName, type FieldViolation } from "./errors.js";
export * as identity from "./gen/identity/v1/identity_service_pb.js";
export * as billing from "./gen/billing/v1/billing_service_pb.js";
export * as questions from "./gen/questions/v1/questions_service_pb.js";
export * as rpc from "./gen/google/rpc/error_details_pb.js";
