public enum InferenceServerPlaceholder {}
