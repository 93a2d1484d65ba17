public enum TrafficFeaturesPlaceholder {}
